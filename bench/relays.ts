// "Past one object": one dashboard's viewers on K relay objects (RELAYS_PER_DASHBOARD), at a
// scale one object cannot hold (20,000 viewers by default), with the same figures as the main
// run: memory per idle stream, latency at 1 event/s, deliveries per second, and a reconnect
// storm with every event checked.
//
// Viewers: this container allows 20,000 open files per process and workerd holds two per
// socket, so at most `socketViewers` (8,000) are real sockets, parsed and timed like the main
// run's; the rest are opened inside workerd by bench/sink through the product's own Worker route
// (a service binding instead of a socket) and only counted. Every one of them is a stream on a
// relay, with its Worker → relay hop; what the in-process ones skip is the socket write.
import { openViewers, percentile, startPublisher, type LatencyResult, type Viewer } from "./load.ts";
import { cpuMs } from "./process-stats.ts";
import { DASHBOARD, INGEST_TOKEN, Stack, type Sink } from "./stack.ts";

export interface RelayParameters {
  relays: number;
  streamsPerRelay: number;
  viewers: number;
  socketViewers: number;
  latencySeconds: number;
  /** Events/s one local workerd thread keeps up with for `viewers` (the other latency run is at 1/s). */
  sustainableRate: number;
  throughputSeconds: number;
  throughputRate: number;
}

export function relayParameters(relays: number, viewers: number, quick: boolean): RelayParameters {
  return {
    relays,
    // Room for random placement: no relay is ever full at these counts.
    streamsPerRelay: Math.ceil((viewers * 1.25) / Math.max(1, relays)),
    viewers,
    socketViewers: Math.min(viewers, 8000),
    latencySeconds: quick ? 10 : 60,
    // Locally every object shares one thread, and with 20,000 streams open a delivery costs it
    // ~100–200 µs: 5,000–10,000 deliveries a second. One event per (viewers / 2,500) seconds
    // keeps it at most about half busy.
    sustainableRate: Math.min(1, 2500 / viewers),
    throughputSeconds: quick ? 5 : 10,
    throughputRate: 400,
  };
}

export interface RelayLatency extends LatencyResult {
  eventsPerSecond: number;
  timedStreams: number;
}

export interface RelayResults {
  parameters: RelayParameters;
  placement: { connectedClients: number; relays: number; sinkErrors: number };
  idleMemory: { streams: number; workerdRssBytesPerStream: number; isolateHeapBytesPerStream: number | null; workerdRssTotalBytes: number };
  /** At a rate one local thread sustains for this many viewers: one fan-out round per event. */
  sustainable: RelayLatency;
  /** At 1 event/s. */
  latency: RelayLatency;
  throughput: {
    offeredEventsPerSecond: number;
    published: number;
    deliveriesPerSecond: number;
    delivered: string;
    serverCpuMicrosPerDelivery: number | null;
  };
  reconnectStorm: {
    streams: number;
    checkedStreams: number;
    published: number;
    publishErrorsDuringRestart: number;
    restartMs: number;
    socketViewersResumedMsAfterRestart: number;
    socketViewersOpen: number;
    allConnectedMsAfterRestart: number;
    missing: number;
    duplicates: number;
  };
}

/** How long the storm may take before the figures are taken as they are. */
const STORM_LIMIT_MS = 180_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the Worker's workerd is nearly idle (a backlog from the last phase has drained). */
async function settle(pid: number, log: (message: string) => void): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (let before = await cpuMs(pid); Date.now() < deadline;) {
    await sleep(2000);
    const now = await cpuMs(pid);
    if (now - before < 300) return; // under 15 % of a core
    before = now;
  }
  log("relays: workerd still busy after two minutes; going on");
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(200);
  }
}

export async function runRelayScenario(p: RelayParameters, log: (message: string) => void): Promise<RelayResults> {
  const sinkViewers = p.viewers - p.socketViewers;
  // The production heartbeat (15 s): with 20,000 streams on one local thread, every heartbeat is 20,000 writes.
  const stack = await Stack.start({
    heartbeatSeconds: 15,
    relays: p.relays,
    streamsPerRelay: p.streamsPerRelay,
    sink: sinkViewers > 0,
    bridgeProcess: true,
  });
  let sockets: Viewer[] = [];
  let sink: Sink | null = null;
  try {
    let { worker: workerPid } = await stack.workerdPids();
    let direct = await stack.directUrl();
    const eventsPath = `/api/dashboards/${DASHBOARD}/events?history=0`;

    // Warm up: compile, start the objects.
    const warm = await openViewers(`${direct}${eventsPath}`, 20, { mode: "count" });
    const warmPublisher = startPublisher(stack.ingestUrl(), INGEST_TOKEN, 10);
    await sleep(2000);
    await warmPublisher.stop();
    for (const v of warm) v.close();
    await sleep(1500);

    log(`relays: ${p.socketViewers} socket viewers on ${p.relays} relays (idle memory)`);
    const rss0 = await stack.rss();
    const heap0 = await stack.heapUsed();
    sockets = await openViewers(`${direct}${eventsPath}`, p.socketViewers, { mode: "parse" });
    await sleep(3000);
    const rss1 = await stack.rss();
    const heap1 = await stack.heapUsed();

    if (sinkViewers > 0) {
      log(`relays: ${sinkViewers} more viewers inside workerd`);
      sink = await stack.sink(sinkViewers);
      const s = sink;
      await until(() => s.open + s.errors >= sinkViewers, 300_000, "the in-process viewers");
    }
    await sleep(2000);
    const placed = await stack.stats();
    const rss2 = await stack.rss();

    const counted = () => sockets.reduce((sum, v) => sum + v.events, 0) + (sink?.events ?? 0);
    /** Publishes `rate` events/s for `seconds`, waits until the last of them has arrived, times them. */
    const latencyPhase = async (rate: number, seconds: number): Promise<RelayLatency> => {
      await settle(workerPid, log);
      log(`relays: latency, ${p.viewers} viewers, ${rate} event/s, ${seconds} s`);
      for (const v of sockets) v.latencies = [];
      const c0 = counted();
      const cpu0 = await cpuMs(workerPid);
      const started = Date.now();
      const publisher = startPublisher(stack.ingestUrl(), INGEST_TOKEN, rate);
      await sleep(seconds * 1000);
      await publisher.stop();
      // Everything published must arrive; a backlog drains (for up to two minutes).
      const expected = publisher.ids.length * p.viewers;
      let lastAt = Date.now();
      for (let last = counted(), quiet = 0; counted() - c0 < expected && quiet < 5 && Date.now() - started < (seconds + 120) * 1000;) {
        await sleep(1000);
        if (counted() === last) quiet++;
        else {
          quiet = 0;
          last = counted();
          lastAt = Date.now();
        }
      }
      const cpu1 = await cpuMs(workerPid);
      const latencies = sockets.flatMap((v) => v.latencies);
      const deliveries = counted() - c0;
      const result: RelayLatency = {
        eventsPerSecond: rate,
        streams: p.viewers,
        timedStreams: p.socketViewers,
        published: publisher.ids.length,
        deliveries,
        expected,
        p50: percentile(latencies, 50),
        p95: percentile(latencies, 95),
        p99: percentile(latencies, 99),
        max: latencies.length ? latencies.reduce((a, b) => Math.max(a, b)) : NaN,
        deliveriesPerSecond: Math.round(deliveries / ((Math.max(lastAt, started + seconds * 1000) - started) / 1000)),
        serverCpuMicrosPerDelivery: deliveries ? Math.round(((cpu1 - cpu0) * 1000) / deliveries) : null,
      };
      log(
        `relays: p50 ${result.p50} ms, p99 ${result.p99} ms, ${deliveries}/${expected} delivered, ${result.deliveriesPerSecond}/s, ${result.serverCpuMicrosPerDelivery} µs CPU each`,
      );
      await sleep(2000);
      return result;
    };
    // First at a rate one local workerd thread sustains for this many viewers, then at 1 event/s.
    const sustainable = await latencyPhase(p.sustainableRate, Math.max(p.latencySeconds, 10 / p.sustainableRate));
    const latency = await latencyPhase(1, p.latencySeconds);

    // Parsing viewers would keep every id of a flood (and the generator would eat the cores it
    // measures): for throughput the socket viewers only count frames, as in the main run.
    for (const v of sockets) v.close();
    await sleep(2000);
    log(`relays: throughput, ${p.throughputRate} events/s offered in batches of 20, ${p.throughputSeconds} s`);
    sockets = await openViewers(`${direct}${eventsPath}`, p.socketViewers, { mode: "count" });
    await settle(workerPid, log);
    const t0 = counted();
    const tcpu0 = await cpuMs(workerPid);
    const tStarted = Date.now();
    const flood = startPublisher(stack.ingestUrl(), INGEST_TOKEN, p.throughputRate, 20);
    await sleep(p.throughputSeconds * 1000);
    await flood.stop();
    // Let the queues drain, but stop counting once nothing more arrives (or after a minute).
    const drainUntil = Date.now() + 60_000;
    for (let last = -1; counted() !== last && Date.now() < drainUntil;) {
      last = counted();
      await sleep(500);
    }
    const tSeconds = (Date.now() - tStarted - 500) / 1000;
    const tDeliveries = counted() - t0;
    const tcpu1 = await cpuMs(workerPid);
    const throughput: RelayResults["throughput"] = {
      offeredEventsPerSecond: p.throughputRate,
      published: flood.ids.length,
      deliveriesPerSecond: Math.round(tDeliveries / tSeconds),
      delivered: `${tDeliveries}/${flood.ids.length * p.viewers}`,
      serverCpuMicrosPerDelivery: tDeliveries ? +(((tcpu1 - tcpu0) * 1000) / tDeliveries).toFixed(1) : null,
    };
    log(`relays: throughput ${throughput.deliveriesPerSecond} deliveries/s (${throughput.delivered})`);
    for (const v of sockets) v.close();
    await sleep(3000);

    // The storm's socket viewers parse and keep every id, and resume by themselves after the
    // stream's own `retry:` delay (RETRY_MS 2 s plus up to 2 s of jitter), as browsers do.
    sockets = await openViewers(`${direct}${eventsPath}`, p.socketViewers, { mode: "parse", reconnect: true, retryDelayMs: [2000, 4000] });
    await settle(workerPid, log); // the flood's backlog is gone
    log(`relays: reconnect storm, ${p.viewers} viewers, workerd restarted under them`);
    // At the rate this one thread sustains for all these viewers: at 1 event/s it is behind
    // before the storm starts (see the latency runs), and reconnects would queue behind deliveries.
    const stormPublisher = startPublisher(stack.ingestUrl(), INGEST_TOKEN, p.sustainableRate);
    // Every viewer has an id to resume from before the cut (else a loss could not be seen).
    await until(() => sockets.every((v) => v.lastId !== null), 120_000, "an event at every viewer before the restart");
    const cutAt = Date.now();
    sink?.close();
    await stack.restart(); // every object evicted, every stream cut: a deploy
    const readyAt = Date.now();
    ({ worker: workerPid } = await stack.workerdPids());
    direct = await stack.directUrl(); // the Worker's socket has a new port: viewers retry until they find it
    for (const v of sockets) {
      v.url = `${direct}${eventsPath}`;
      v.cut(); // the ones the restart did not already cut
    }
    // The in-process viewers come back at the rate the socket viewers do (their `retry:` spreads
    // them over about 2 s): about as many a second as there are viewers, over two seconds.
    const reopened = sinkViewers > 0 ? await stack.sink(sinkViewers, "history=0", Math.ceil(p.viewers / 2)) : null;
    const resumed = await Promise.race([
      Promise.all(sockets.map((v) => v.whenOpen())).then(() => true),
      sleep(STORM_LIMIT_MS).then(() => false),
    ]);
    const socketsAt = Date.now();
    if (reopened)
      await until(
        () => reopened.open + reopened.errors >= sinkViewers || Date.now() - readyAt > STORM_LIMIT_MS,
        STORM_LIMIT_MS + 5000,
        "the in-process viewers after the restart",
      );
    const allAt = Date.now();
    log(
      `relays: storm: ${sockets.filter((v) => v.open).length} socket viewers open after ${socketsAt - readyAt} ms, ${reopened?.open ?? 0} in workerd after ${allAt - readyAt} ms`,
    );
    if (!resumed) log(`relays: not every socket viewer resumed within ${STORM_LIMIT_MS / 1000} s`);
    sink = reopened;
    await sleep(Math.max(4000, 2000 / p.sustainableRate));
    await stormPublisher.stop();
    await sleep(Math.max(3000, 1000 / p.sustainableRate));
    let missing = 0;
    let duplicates = 0;
    for (const v of sockets) {
      const seen = new Set(v.ids);
      duplicates += v.ids.length - seen.size;
      const firstSeen = stormPublisher.ids.indexOf(v.ids[0]!);
      for (const id of stormPublisher.ids.slice(Math.max(0, firstSeen))) if (!seen.has(id)) missing++;
    }
    return {
      parameters: p,
      placement: { connectedClients: placed.connectedClients, relays: placed.relays, sinkErrors: sink?.errors ?? 0 },
      idleMemory: {
        streams: p.socketViewers,
        workerdRssBytesPerStream: Math.round((rss1.worker - rss0.worker) / p.socketViewers),
        isolateHeapBytesPerStream: heap0 !== null && heap1 !== null ? Math.round((heap1 - heap0) / p.socketViewers) : null,
        workerdRssTotalBytes: rss2.worker,
      },
      sustainable,
      latency,
      throughput,
      reconnectStorm: {
        streams: p.viewers,
        checkedStreams: p.socketViewers,
        published: stormPublisher.ids.length,
        publishErrorsDuringRestart: stormPublisher.errors,
        restartMs: readyAt - cutAt,
        socketViewersResumedMsAfterRestart: socketsAt - readyAt,
        socketViewersOpen: sockets.filter((v) => v.open).length,
        allConnectedMsAfterRestart: allAt - readyAt,
        missing,
        duplicates,
      },
    };
  } finally {
    for (const v of sockets) v.close();
    sink?.close();
    await stack.stop();
  }
}

/** Table rows for the report: [figure, target, measured, verdict]. */
export function relayRows(r: RelayResults): [string, string, string, string][] {
  const kb = (b: number | null) => (b === null ? "n/a" : `${(b / 1024).toFixed(1)} KB`);
  const n = r.parameters.viewers.toLocaleString("en");
  const k = r.parameters.relays;
  return [
    [
      `viewers placed on ${k} relays`,
      `${n}`,
      `${r.placement.connectedClients.toLocaleString("en")} on ${r.placement.relays} relays (${r.parameters.socketViewers.toLocaleString("en")} sockets + the rest in workerd)`,
      r.placement.connectedClients === r.parameters.viewers ? "met" : "**not met**",
    ],
    [
      `latency, ${n} viewers, ${r.sustainable.eventsPerSecond} event/s (one fan-out round on the one local thread)`,
      "(reported)",
      `p50 ${r.sustainable.p50} ms, p99 ${r.sustainable.p99} ms, max ${r.sustainable.max} ms; ${r.sustainable.deliveries.toLocaleString("en")}/${r.sustainable.expected.toLocaleString("en")} delivered; ${r.sustainable.serverCpuMicrosPerDelivery} µs CPU each`,
      "—",
    ],
    [
      `latency, ${n} viewers, 1 event/s (${r.latency.timedStreams.toLocaleString("en")} timed)`,
      "(reported)",
      `p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms`,
      "—",
    ],
    [
      `deliveries, ${n} viewers, 1 event/s`,
      "all",
      `${r.latency.deliveries.toLocaleString("en")}/${r.latency.expected.toLocaleString("en")} (${r.latency.deliveriesPerSecond.toLocaleString("en")}/s; workerd ${r.latency.serverCpuMicrosPerDelivery} µs CPU each)`,
      r.latency.deliveries >= r.latency.expected ? "met" : "**not met**",
    ],
    [
      `deliveries per second, ${r.throughput.offeredEventsPerSecond} events/s offered`,
      "(reported)",
      `${r.throughput.deliveriesPerSecond.toLocaleString("en")} (${r.throughput.delivered}; ${r.throughput.serverCpuMicrosPerDelivery} µs CPU each)`,
      "—",
    ],
    [
      "memory per idle stream on a relay: isolate heap",
      "≤ 8 KB",
      kb(r.idleMemory.isolateHeapBytesPerStream),
      (r.idleMemory.isolateHeapBytesPerStream ?? Infinity) <= 8192 ? "met" : "**not met**",
    ],
    [
      "memory per idle stream on a relay: workerd RSS",
      "(reported)",
      `${kb(r.idleMemory.workerdRssBytesPerStream)} (workerd ${(r.idleMemory.workerdRssTotalBytes / 2 ** 30).toFixed(2)} GiB with all ${n})`,
      "—",
    ],
    [
      `reconnect storm, ${n} viewers: missing / duplicate events`,
      "0 / 0",
      `${r.reconnectStorm.missing} / ${r.reconnectStorm.duplicates} over ${r.reconnectStorm.socketViewersOpen.toLocaleString("en")} of ${r.reconnectStorm.checkedStreams.toLocaleString("en")} checked viewers (publishing ${r.parameters.sustainableRate} event/s); sockets resumed ${r.reconnectStorm.socketViewersResumedMsAfterRestart} ms, all ${n} ${r.reconnectStorm.allConnectedMsAfterRestart} ms after restart`,
      r.reconnectStorm.missing === 0 &&
      r.reconnectStorm.duplicates === 0 &&
      r.reconnectStorm.socketViewersOpen === r.reconnectStorm.checkedStreams
        ? "met"
        : "**not met**",
    ],
  ];
}
