// `node bench/split/profile.ts [events/s] [seconds] [object|edge]`: the split setup (inspector
// off) with 1,000 counting viewers; prints each process's CPU per delivery and, if `perf` is
// installed, records the object's workerd (or the edge Worker's) to /tmp/<which>.perf (read it
// with `perf report -i /tmp/object.perf --children --sort symbol`). How the object's and the
// edge's shares in docs/BENCHMARKS.md were found.
import { execFile } from "node:child_process";
import { loadavg } from "node:os";
import { promisify } from "node:util";
import { openViewers, startPublisher } from "../load.ts";
import { cpuMs } from "../process-stats.ts";
import { DASHBOARD, INGEST_TOKEN } from "../stack.ts";
import { SplitStack } from "./stack.ts";

const rate = Number(process.argv[2] ?? 5);
const seconds = Number(process.argv[3] ?? 15);
const which = process.argv[4] === "edge" ? "edge" : "object";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stack = await SplitStack.start({ inspector: false });
try {
  const viewers = await openViewers(`${stack.url}/api/dashboards/${DASHBOARD}/events?history=0`, 1000, { mode: "count" });
  const warm = startPublisher(`${stack.url}/api/dashboards/${DASHBOARD}/metrics`, INGEST_TOKEN, rate);
  await sleep(3000);
  await warm.stop();
  const counted = () => viewers.reduce((a, v) => a + v.events, 0);
  const e0 = counted();
  const o0 = await cpuMs(stack.object.workerd);
  const w0 = await cpuMs(stack.edge.workerd);
  const load0 = loadavg()[0]!;
  const publisher = startPublisher(`${stack.url}/api/dashboards/${DASHBOARD}/metrics`, INGEST_TOKEN, rate);
  // Asynchronously: the viewers and the publisher share this event loop.
  const target = which === "edge" ? stack.edge.workerd : stack.object.workerd;
  const perf = promisify(execFile)("perf", [
    "record",
    "-g",
    "-F",
    "999",
    "-o",
    `/tmp/${which}.perf`,
    "-p",
    String(target),
    "--",
    "sleep",
    String(seconds),
  ]).catch((err: Error) => console.error(`perf not recorded: ${err.message}`));
  await sleep(seconds * 1000);
  await publisher.stop();
  await perf;
  await sleep(1500);
  const d = counted() - e0;
  const per = async (pid: number, c0: number) => ((((await cpuMs(pid)) - c0) * 1000) / d).toFixed(1);
  console.log(
    `1,000 viewers, ${rate} events/s, ${seconds} s, load average ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}: ${d} deliveries; CPU per delivery: object ${await per(stack.object.workerd, o0)} µs, Worker ${await per(stack.edge.workerd, w0)} µs`,
  );
  for (const v of viewers) v.close();
} finally {
  await stack.stop();
}
