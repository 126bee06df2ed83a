// One timed window for the split scenario and the soak: N parsing viewers, one event a second,
// and the CPU of each server process read on its own. Beside the percentiles it keeps what the
// stall hunt needs: each event's first and slowest delivery, each viewer's longest silence, the
// ingest round trip, and how late the load generator's own event loop ran (a stalled generator
// would look like a stalled server).
import { loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { openViewers, percentile, startPublisher } from "../load.ts";
import { cpuMs } from "../process-stats.ts";
import { DASHBOARD, INGEST_TOKEN } from "../stack.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface EventDelivery {
  /** When the publisher stamped it (ms since the epoch). */
  sent: number;
  first: number;
  worst: number;
  reached: number;
  /** Ingest POST round trip for it, ms (null if unknown). */
  postMs: number | null;
}

export interface Window {
  viewers: number;
  seconds: number;
  /** 1-minute load average when the window started, and when it ended. */
  load: [number, number];
  published: number;
  deliveries: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
  /** CPU per delivery of each measured process, µs, by name. */
  cpuMicrosPerDelivery: Record<string, number>;
  /**
   * CPU per delivery of this process (the viewers parsing their streams, and the publisher), µs:
   * with the servers' figures, the whole machine's work per event, which 2 cores must share.
   */
  generatorMicrosPerDelivery: number;
  /** Longest gap between two events on any one viewer while publishing went on, ms. */
  longestSilenceMs: number;
  /** The slowest events by worst delivery (at most 5), slowest first. */
  slowestEvents: EventDelivery[];
  /** The load generator's own event-loop delay, ms (p99 and max). */
  generatorLagMs: { p99: number; max: number };
  /** Set instead of the figures when the window could not be measured (a server process died). */
  failed?: string;
  /** Per-second CPU of each process during the window (ms per second), only if asked for. */
  cpuTimeline?: Record<string, number[]>;
  /** Every event's deliveries, in publishing order, only if asked for (with the timeline). */
  perEvent?: EventDelivery[];
}

export async function measure(
  base: string,
  n: number,
  seconds: number,
  pids: Record<string, number>,
  options: { timeline?: boolean } = {},
): Promise<Window> {
  const viewers = await openViewers(`${base}/api/dashboards/${DASHBOARD}/events?history=0`, n, { mode: "parse" });
  await sleep(2000);
  const load0 = loadavg()[0]!;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const cpu0 = await cpuAll(pids);
  const self0 = process.cpuUsage();
  const timeline: Record<string, number[]> = Object.fromEntries(Object.keys(pids).map((k) => [k, []]));
  let last = cpu0;
  const sampler = options.timeline
    ? setInterval(async () => {
        const now = await cpuAll(pids);
        for (const k of Object.keys(pids)) timeline[k]!.push(now[k]! - last[k]!);
        last = now;
      }, 1000)
    : undefined;
  const publisher = startPublisher(`${base}/api/dashboards/${DASHBOARD}/metrics`, INGEST_TOKEN, 1);
  await sleep(seconds * 1000);
  await publisher.stop();
  await sleep(n >= 5000 ? 3000 : 1500);
  clearInterval(sampler);
  const cpu1 = await cpuAll(pids);
  const self = process.cpuUsage(self0);
  lag.disable();

  const latencies = viewers.flatMap((v) => v.latencies);
  const deliveries = latencies.length;
  const events = new Map<number, EventDelivery>();
  let longestSilenceMs = 0;
  for (const v of viewers) {
    v.latencies.forEach((ms, i) => {
      const sent = v.arrivals[i]! - ms;
      const e = events.get(sent) ?? { sent, first: Infinity, worst: -Infinity, reached: 0, postMs: null };
      e.first = Math.min(e.first, ms);
      e.worst = Math.max(e.worst, ms);
      e.reached++;
      events.set(sent, e);
      if (i > 0) longestSilenceMs = Math.max(longestSilenceMs, v.arrivals[i]! - v.arrivals[i - 1]!);
    });
    v.close();
  }
  for (const p of publisher.posts) {
    // The sample's timestamp is taken just before the request is sent.
    for (const sent of [p.at, p.at - 1, p.at - 2]) {
      const e = events.get(sent);
      if (e && e.postMs === null) e.postMs = p.ms;
    }
  }
  const slowestEvents = [...events.values()].sort((a, b) => b.worst - a.worst).slice(0, 5);
  return {
    viewers: n,
    seconds,
    load: [+load0.toFixed(2), +loadavg()[0]!.toFixed(2)],
    published: publisher.ids.length,
    deliveries,
    expected: publisher.ids.length * n,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: deliveries ? latencies.reduce((a, b) => Math.max(a, b), -Infinity) : NaN, // no spread: 600,000 values in a soak
    cpuMicrosPerDelivery: Object.fromEntries(
      Object.keys(pids).map((k) => [k, deliveries ? Math.round(((cpu1[k]! - cpu0[k]!) * 1000) / deliveries) : NaN]),
    ),
    generatorMicrosPerDelivery: deliveries ? Math.round((self.user + self.system) / deliveries) : NaN,
    longestSilenceMs,
    slowestEvents,
    generatorLagMs: { p99: +(lag.percentile(99) / 1e6).toFixed(1), max: +(lag.max / 1e6).toFixed(1) },
    ...(options.timeline ? { cpuTimeline: timeline, perEvent: [...events.values()].sort((a, b) => a.sent - b.sent) } : {}),
  };
}

async function cpuAll(pids: Record<string, number>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [k, pid] of Object.entries(pids)) out[k] = await cpuMs(pid);
  return out;
}

/** A short warm-up: compile, open the object, fill caches. */
export async function warmUp(base: string): Promise<void> {
  await measure(base, 10, 2, {});
}
