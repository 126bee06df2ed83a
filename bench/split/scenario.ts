// The split scenario (`npm run bench -- --split [--quick]`, and part of every run): latency at
// 1,000 and 5,000 viewers, one event a second, for each setup in the same run: the Node
// baseline, today's single workerd (wrangler dev, inspector on, as a developer runs it), and the
// split setup (object and Worker in separate workerd processes) with the inspector on and off,
// with the object's own SQLite log instead of Upstash, and with 4 relays in a third process.
import { spawn } from "node:child_process";
import { Stack } from "../stack.ts";
import { measure, warmUp, type Window } from "./measure.ts";
import { SplitStack } from "./stack.ts";

export interface SplitResults {
  seconds: number;
  runs: { setup: string; windows: Window[] }[];
}

/** Relay objects in the relay setup: 250 of 1,000 viewers each (1,250 of 5,000). */
export const SPLIT_RELAYS = 4;
const SETUPS = [
  "node baseline",
  "single workerd (inspector on)",
  "split (inspector on)",
  "split (inspector off)",
  "split, SQLite log (inspector off)",
  `split, ${SPLIT_RELAYS} relays (inspector off)`,
] as const;

export async function runSplitScenario(
  quick: boolean,
  log: (m: string) => void,
  viewerCounts = [1000, 5000],
  only?: string,
): Promise<SplitResults> {
  const seconds = quick ? 10 : 60;
  const runs: SplitResults["runs"] = [];
  for (const setup of SETUPS.filter((s) => !only || s.includes(only))) {
    const server = await startSetup(setup);
    try {
      await warmUp(server.url);
      const windows: Window[] = [];
      for (const n of viewerCounts) {
        log(`split scenario: ${setup}, ${n} viewers, ${seconds} s`);
        try {
          windows.push(await measure(server.url, n, seconds, server.pids));
        } catch (err) {
          // A server process that died under the load (e.g. one workerd holding 10,000 sockets)
          // is a result of its own; the other setups still run.
          log(`split scenario: ${setup}, ${n} viewers failed: ${(err as Error).message}\n${server.logTail?.() ?? ""}`);
          windows.push({ viewers: n, seconds, failed: (err as Error).message } as Window);
          break;
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
      runs.push({ setup, windows });
    } finally {
      await server.stop();
    }
  }
  return { seconds, runs };
}

async function startSetup(
  setup: (typeof SETUPS)[number],
): Promise<{ url: string; pids: Record<string, number>; stop(): Promise<void>; logTail?: () => string }> {
  if (setup === "node baseline") {
    const proc = spawn(process.execPath, ["bench/baseline-server.ts"], { stdio: ["ignore", "pipe", "inherit"] });
    const url = await new Promise<string>((resolve) => proc.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim())));
    return { url, pids: { server: proc.pid! }, stop: async () => void proc.kill("SIGTERM") };
  }
  if (setup === "single workerd (inspector on)") {
    const stack = await Stack.start({ heartbeatSeconds: 5, bridgeProcess: true });
    const { worker } = await stack.workerdPids();
    return { url: await stack.directUrl(), pids: { server: worker }, stop: () => stack.stop(), logTail: () => stack.logTail() };
  }
  const stack = await SplitStack.start({
    inspector: setup === "split (inspector on)",
    relays: setup.includes("relays") ? SPLIT_RELAYS : 0,
    eventLog: setup.includes("SQLite") ? "sqlite" : "upstash",
  });
  return { url: stack.url, pids: stack.pids, stop: () => stack.stop() };
}

/** Table rows: setup, viewers, latency, CPU per delivery (object / Worker side), load. */
export function splitRows(r: SplitResults): string[][] {
  const rows: string[][] = [];
  for (const { setup, windows } of r.runs) {
    for (const w of windows) {
      if (w.failed) {
        rows.push([setup, w.viewers.toLocaleString("en"), `failed: ${w.failed}`, "—", "—", "—", "—"]);
        continue;
      }
      const cpu = w.cpuMicrosPerDelivery;
      const serverText =
        "object" in cpu
          ? Object.entries(cpu)
              .map(([k, v]) => `${k === "worker" ? "Worker" : k} ${v} µs`)
              .join(", ")
          : `${cpu.server} µs (one process)`;
      const cpuText = w.generatorMicrosPerDelivery === undefined ? serverText : `${serverText}; viewers ${w.generatorMicrosPerDelivery} µs`;
      rows.push([
        setup,
        w.viewers.toLocaleString("en"),
        `${w.p50} / ${w.p99} / ${w.max} ms`,
        cpuText,
        `${w.deliveries}/${w.expected}`,
        `${w.longestSilenceMs} ms`,
        `${w.load[0]} → ${w.load[1]}`,
      ]);
    }
  }
  return rows;
}

export function splitTable(r: SplitResults): string {
  const head = "| setup | viewers | p50 / p99 / max | CPU per delivery | delivered | longest silence | load avg (1 min) |";
  return [head, "|---|---|---|---|---|---|---|", ...splitRows(r).map((row) => `| ${row.join(" | ")} |`)].join("\n");
}
