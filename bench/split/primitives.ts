// `node bench/split/primitives.ts [viewers] [events/s] [seconds]`: the object's CPU per delivery
// for two ways of carrying a viewer's bytes out of a Durable Object, in the split setup (object
// and edge Worker in separate workerd processes, bench/split/probe/): a ReadableStream per viewer
// returned from the object's fetch (what the product does) and a WebSocket per viewer that the
// edge turns into the SSE body. Counting viewers; the same sessions and viewers count for both.
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { openViewers } from "../load.ts";
import { cpuMs } from "../process-stats.ts";
import { launch, stopLauncher } from "./stack.ts";

const viewersN = Number(process.argv[2] ?? 1000);
const rate = Number(process.argv[3] ?? 5);
const seconds = Number(process.argv[4] ?? 15);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const READY = { path: "/ready", text: "probe" };

const dir = await mkdtemp(join(tmpdir(), "rtd-probe-"));
const launched: ChildProcess[] = [];
try {
  const object = await launch("probe-object", dir, false, "{}", launched, READY);
  const edge = await launch("probe-edge", dir, false, "{}", launched, READY);
  const broadcast = () => fetch(`${edge.url}/broadcast`, { method: "POST" }).then((r) => r.text());
  for (const mode of ["stream", "ws", "stream", "ws"] as const) {
    const viewers = await openViewers(`${edge.url}/${mode}`, viewersN, { mode: "count" });
    await sleep(1000);
    // warm up
    for (let i = 0; i < 10; i++) {
      await broadcast();
      await sleep(100);
    }
    await sleep(1000);
    const counted = () => viewers.reduce((a, v) => a + v.events, 0);
    const [e0, o0, w0, load0] = [counted(), await cpuMs(object.workerd), await cpuMs(edge.workerd), loadavg()[0]!];
    for (let i = 0; i < seconds * rate; i++) await Promise.all([broadcast(), sleep(1000 / rate)]);
    await sleep(1500);
    const d = counted() - e0;
    const per = async (pid: number, c0: number) => ((((await cpuMs(pid)) - c0) * 1000) / d).toFixed(1);
    console.log(
      `${mode === "ws" ? "WebSocket per viewer     " : "ReadableStream per viewer"}: ${viewersN} viewers, ${rate} events/s, ${seconds} s, ${d} of ${viewersN * seconds * rate} deliveries, load ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}; CPU per delivery: object ${await per(object.workerd, o0)} µs, edge ${await per(edge.workerd, w0)} µs`,
    );
    for (const v of viewers) v.close();
    await sleep(2000);
  }
} finally {
  for (const l of launched.reverse()) await stopLauncher(l);
  await rm(dir, { recursive: true, force: true });
}
