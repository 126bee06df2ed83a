// The stall hunt (`npm run bench -- --soak SECONDS [--setup single|split|split-inspector|split-relays]`):
// 1,000 viewers for a long window at one event a second, keeping each event's slowest delivery,
// each viewer's longest silence, the ingest round trip of the slowest events, the load
// generator's own event-loop lag, and each server process's CPU second by second (a GC pause or
// a busy second shows there). Targets: the slowest event's worst delivery ≤ 2 × p99, and no
// viewer silent for more than 1.5 s.
import { loadavg } from "node:os";
import { Stack } from "../stack.ts";
import { measure, warmUp, type Window } from "./measure.ts";
import { SPLIT_RELAYS } from "./scenario.ts";
import { SplitStack } from "./stack.ts";

export type SoakSetup = "single" | "split" | "split-inspector" | "split-relays";

export interface SoakResult extends Window {
  setup: SoakSetup;
  targets: { worstEventWithin2xP99: boolean; longestSilenceWithin1500ms: boolean };
}

export async function runSoak(seconds: number, setup: SoakSetup, log: (m: string) => void): Promise<SoakResult> {
  log(`soak: ${setup}, 1,000 viewers, 1 event/s, ${seconds} s (load average ${loadavg()[0]!.toFixed(2)})`);
  let url: string;
  let pids: Record<string, number>;
  let stop: () => Promise<void>;
  if (setup === "single") {
    const stack = await Stack.start({ heartbeatSeconds: 15, bridgeProcess: true });
    url = await stack.directUrl();
    pids = { server: (await stack.workerdPids()).worker };
    stop = () => stack.stop();
  } else {
    const stack = await SplitStack.start({
      inspector: setup === "split-inspector",
      heartbeatSeconds: 15,
      relays: setup === "split-relays" ? SPLIT_RELAYS : 0,
    });
    url = stack.url;
    pids = stack.pids;
    stop = () => stack.stop();
  }
  try {
    await warmUp(url);
    const w = await measure(url, 1000, seconds, pids, { timeline: true });
    const worst = w.slowestEvents[0]?.worst ?? 0;
    return { setup, ...w, targets: { worstEventWithin2xP99: worst <= 2 * w.p99, longestSilenceWithin1500ms: w.longestSilenceMs <= 1500 } };
  } finally {
    await stop();
  }
}

export function soakSummary(r: SoakResult): string {
  const lines = [
    `soak (${r.setup}), ${r.viewers} viewers, ${r.seconds} s, load average ${r.load[0]} → ${r.load[1]}:`,
    `  p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms; delivered ${r.deliveries}/${r.expected}`,
    `  longest silence on one viewer ${r.longestSilenceMs} ms (target ≤ 1500: ${r.targets.longestSilenceWithin1500ms ? "met" : "not met"})`,
    `  slowest event's worst delivery ${r.slowestEvents[0]?.worst} ms (target ≤ 2 × p99 = ${2 * r.p99}: ${r.targets.worstEventWithin2xP99 ? "met" : "not met"})`,
    `  CPU per delivery: ${Object.entries(r.cpuMicrosPerDelivery)
      .map(([k, v]) => `${k} ${v} µs`)
      .join(
        ", ",
      )}, viewers ${r.generatorMicrosPerDelivery} µs; generator lag p99 ${r.generatorLagMs.p99} ms, max ${r.generatorLagMs.max} ms`,
    "  slowest events (sent, first → worst delivery, ingest round trip):",
    ...r.slowestEvents.map(
      (e) => `    ${new Date(e.sent).toISOString()}  ${e.first} → ${e.worst} ms  (${e.reached} viewers, POST ${e.postMs ?? "?"} ms)`,
    ),
  ];
  return lines.join("\n");
}
