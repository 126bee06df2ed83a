// `npm run bench [-- --quick]`: the product under load on this machine, beside the same load on
// a plain Node SSE server built the way the seed article builds one. Prints a table and writes
// bench/results/latest.json and docs/BENCHMARKS.md. Every run then measures the split setup
// (bench/split/: the object and the Worker in separate workerd processes); a full run ends with
// the relay scenario (bench/relays.ts: 20,000 viewers on 10 relay objects). `--relays K
// [--viewers N] [--quick]` runs only that (bench/results/relays.json); `--split [--quick]` only
// the split scenario (bench/results/split.json; `--only <text>`: the setups whose name has it); `--soak SECONDS [--setup single|split|
// split-inspector]` only the stall hunt at 1,000 viewers (bench/results/soak-<setup>.json).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { parseArgs, promisify } from "node:util";
import { openViewers, percentile, startPublisher, type LatencyResult, type Viewer } from "./load.ts";
import { cpuMs, rssOf } from "./process-stats.ts";
import { relayParameters, relayRows, runRelayScenario, type RelayResults } from "./relays.ts";
import { DASHBOARD, INGEST_TOKEN, Stack } from "./stack.ts";
import { runSplitScenario, splitTable, type SplitResults } from "./split/scenario.ts";
import { runSoak, soakSummary, type SoakSetup } from "./split/soak.ts";

const exec = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    relays: { type: "string" },
    viewers: { type: "string" },
    split: { type: "boolean", default: false },
    soak: { type: "string" },
    setup: { type: "string", default: "split" },
    only: { type: "string" },
  },
});
const quick = args.quick;
const RELAYS = { relays: 10, viewers: 20_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const P = {
  streams: 1000,
  latencySeconds: quick ? 8 : 60,
  idleStreams: quick ? 1000 : 2000,
  throughputSeconds: quick ? 5 : 20,
  throughputRate: 400, // events/s offered, in batches of 20: more than one object can deliver to 1,000 streams
  unwatchedSeconds: quick ? 6 : 60,
  stormStreams: quick ? 400 : 1000,
  slowSeconds: quick ? 5 : 20,
  slowStreams: 200,
};

/** N parsing viewers, publish at `rate` for `seconds`, latency from the payload timestamps. */
async function latencyRun(
  base: string,
  n: number,
  rate: number,
  seconds: number,
  batch: number,
  serverPid: number | null,
  mode: "parse" | "count" = "parse",
): Promise<LatencyResult & { viewers: Viewer[] }> {
  const viewers = await openViewers(`${base}/api/dashboards/${DASHBOARD}/events?history=0`, n, { mode });
  await sleep(1500);
  const cpu0 = serverPid ? await cpuMs(serverPid) : 0;
  const started = Date.now();
  const publisher = startPublisher(`${base}/api/dashboards/${DASHBOARD}/metrics`, INGEST_TOKEN, rate, batch);
  await sleep(seconds * 1000);
  await publisher.stop();
  await sleep(1000);
  const elapsed = (Date.now() - started) / 1000;
  const cpu1 = serverPid ? await cpuMs(serverPid) : 0;
  const latencies = viewers.flatMap((v) => v.latencies);
  const deliveries = viewers.reduce((sum, v) => sum + v.events, 0);
  return {
    viewers,
    streams: n,
    published: publisher.ids.length,
    deliveries,
    expected: publisher.ids.length * n,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies.length ? Math.max(...latencies) : NaN,
    deliveriesPerSecond: Math.round(deliveries / elapsed),
    serverCpuMicrosPerDelivery: serverPid && deliveries ? Math.round(((cpu1 - cpu0) * 1000) / deliveries) : null,
  };
}

interface ThroughputResult {
  streams: number;
  offeredPerSecond: number;
  published: number;
  /** Deliveries counted by the viewers, per second of publishing (plus the drain after it). */
  deliveriesPerSecond: number;
  /** The same from the object's own counter (null for the baseline). */
  objectDeliveriesPerSecond: number | null;
  delivered: string;
  serverCpuMicrosPerDelivery: number | null;
}

/** Publishes more than can be delivered and measures what gets through, once viewers are open. */
async function throughputRun(
  base: string,
  serverPid: number | null,
  delivered: (() => Promise<number>) | null,
): Promise<ThroughputResult & { viewers: Viewer[] }> {
  const viewers = await openViewers(`${base}/api/dashboards/${DASHBOARD}/events?history=0`, P.streams, { mode: "count" });
  await sleep(1500);
  const counted = () => viewers.reduce((sum, v) => sum + v.events, 0);
  const c0 = counted();
  const d0 = delivered ? await delivered() : 0;
  const cpu0 = serverPid ? await cpuMs(serverPid) : 0;
  const started = Date.now();
  const publisher = startPublisher(`${base}/api/dashboards/${DASHBOARD}/metrics`, INGEST_TOKEN, P.throughputRate, 20);
  await sleep(P.throughputSeconds * 1000);
  await publisher.stop();
  // Let the queues drain, but stop counting once nothing more arrives.
  for (let last = -1; counted() !== last;) {
    last = counted();
    await sleep(300);
  }
  const seconds = (Date.now() - started - 300) / 1000;
  const deliveries = counted() - c0;
  const cpu1 = serverPid ? await cpuMs(serverPid) : 0;
  return {
    viewers,
    streams: P.streams,
    offeredPerSecond: P.throughputRate * P.streams,
    published: publisher.ids.length,
    deliveriesPerSecond: Math.round(deliveries / seconds),
    objectDeliveriesPerSecond: delivered ? Math.round(((await delivered()) - d0) / seconds) : null,
    delivered: `${deliveries}/${publisher.ids.length * P.streams}`,
    serverCpuMicrosPerDelivery: serverPid && deliveries ? +(((cpu1 - cpu0) * 1000) / deliveries).toFixed(1) : null,
  };
}

function strip<T extends { viewers?: Viewer[] }>(r: T): Omit<T, "viewers"> {
  const { viewers, ...rest } = r;
  for (const v of viewers ?? []) v.close();
  return rest;
}

async function startBaselineProcess(): Promise<{ url: string; pid: number; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ["bench/baseline-server.ts"], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve) => proc.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim())));
  return { url, pid: proc.pid!, proc };
}

async function machine() {
  const cpu = cpus();
  const { stdout: workerd } = await exec("npx", ["workerd", "--version"]).catch(() => ({ stdout: "?" }));
  return {
    cpu: `${cpu.length} × ${cpu[0]?.model ?? "?"}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    workerd: workerd.trim(),
    date: new Date().toISOString(),
  };
}

function log(message: string) {
  console.error(`[bench] ${message}`);
}

const results: Record<string, unknown> = {
  command: `npm run bench${quick ? " -- --quick" : ""}`,
  quick,
  machine: await machine(),
  parameters: P,
};

const relayTable = (r: RelayResults) =>
  ["| figure | target | measured | |", "|---|---|---|---|", ...relayRows(r).map((row) => `| ${row.join(" | ")} |`)].join("\n");

// ---- only the relay scenario ---------------------------------------------------------------
if (args.relays !== undefined) {
  const k = Number(args.relays);
  const n = Number(args.viewers ?? RELAYS.viewers);
  if (!Number.isInteger(k) || k < 1 || !Number.isInteger(n) || n < 1) throw new Error("--relays K and --viewers N are whole numbers ≥ 1");
  const relays = await runRelayScenario(relayParameters(k, n, quick), log);
  console.log(`\n${relayTable(relays)}\n`);
  await mkdir("bench/results", { recursive: true });
  const command = `npm run bench -- --relays ${k}${args.viewers ? ` --viewers ${n}` : ""}${quick ? " --quick" : ""}`;
  await writeFile("bench/results/relays.json", JSON.stringify({ command, machine: results.machine, relays }, null, 2) + "\n");
  process.exit(0);
}

// ---- only the split scenario, or only the soak (bench/split/) --------------------------------
if (args.split || args.soak !== undefined) {
  await mkdir("bench/results", { recursive: true });
  if (args.soak !== undefined) {
    const soak = await runSoak(Number(args.soak), args.setup as SoakSetup, log);
    console.log(`\n${soakSummary(soak)}\n`);
    const command = `npm run bench -- --soak ${args.soak} --setup ${args.setup}`;
    await writeFile(`bench/results/soak-${args.setup}.json`, JSON.stringify({ command, machine: results.machine, soak }, null, 2) + "\n");
  } else {
    const split = await runSplitScenario(quick, log, undefined, args.only);
    console.log(`\n${splitTable(split)}\n`);
    const only = args.only ? ` --only ${args.only}` : "";
    const file = `bench/results/split${args.only ? `-${args.only.replace(/\W+/g, "-").replace(/^-|-$/g, "")}` : ""}${quick ? "-quick" : ""}.json`;
    await writeFile(
      file,
      JSON.stringify({ command: `npm run bench -- --split${only}${quick ? " --quick" : ""}`, machine: results.machine, split }, null, 2) +
        "\n",
    );
  }
  process.exit(0);
}

// ---- the product ---------------------------------------------------------------------------
const stack = await Stack.start({ heartbeatSeconds: 5 });
try {
  const { worker: workerPid } = await stack.workerdPids();
  const direct = await stack.directUrl();
  // Warm up: compile, open the object, fill caches.
  strip(await latencyRun(direct, 10, 10, 2, 1, null));

  log(`idle memory: ${P.idleStreams} streams`);
  await sleep(1000);
  const rss0 = await stack.rss();
  const heap0 = await stack.heapUsed();
  const idle = await openViewers(`${direct}/api/dashboards/${DASHBOARD}/events?history=0`, P.idleStreams, { mode: "count" });
  await sleep(3000);
  const rss1 = await stack.rss();
  const heap1 = await stack.heapUsed();
  for (const v of idle) v.close();
  results.idleMemory = {
    streams: P.idleStreams,
    workerdRssBytesPerStream: Math.round((rss1.worker - rss0.worker) / P.idleStreams),
    isolateHeapBytesPerStream: heap0 !== null && heap1 !== null ? Math.round((heap1 - heap0) / P.idleStreams) : null,
  };
  await sleep(2000);

  log(`latency: ${P.streams} streams, 1 event/s, ${P.latencySeconds} s`);
  await stack.redis.resetStats();
  const latency = await latencyRun(direct, P.streams, 1, P.latencySeconds, 1, workerPid);
  const commands = await stack.redis.commandStats();
  const totalCommands = Object.values(commands).reduce((a, b) => a + b, 0);
  results.latency = strip(latency);
  results.redis = {
    commands,
    commandsPerPublishedEvent: +(totalCommands / Math.max(1, latency.published)).toFixed(3),
    commandsPerDelivery: +(totalCommands / Math.max(1, latency.deliveries)).toFixed(5),
  };
  await sleep(2000);

  log(`throughput: ${P.streams} streams, ${P.throughputRate} events/s offered in batches of 20`);
  results.throughput = strip(await throughputRun(direct, workerPid, () => stack.stats().then((s) => s.eventsDelivered)));
  await sleep(2000);

  log(`unwatched: ${P.unwatchedSeconds} s with no viewer (publishing 1/s)`);
  await stack.redis.resetStats();
  const quiet = startPublisher(stack.ingestUrl(), INGEST_TOKEN, 1);
  await sleep(P.unwatchedSeconds * 1000);
  await quiet.stop();
  const unwatched = await stack.redis.commandStats();
  const reads = Object.entries(unwatched).filter(([c]) => !["xadd", "config|resetstat"].includes(c));
  results.unwatched = {
    seconds: P.unwatchedSeconds,
    published: quiet.ids.length,
    commands: unwatched,
    reads: reads.reduce((a, [, n]) => a + n, 0),
  };

  log(`slow consumer: ${P.slowStreams} streams, then again beside 1 that stops reading`);
  const without = strip(await latencyRun(direct, P.slowStreams, 5, P.slowSeconds, 1, null));
  await sleep(1000);
  const slowViewers = await openViewers(`${direct}/api/dashboards/${DASHBOARD}/events?history=0`, 1, { mode: "count" });
  await sleep(500);
  slowViewers[0]!.pause();
  const rssSlow0 = await rssOf(workerPid);
  const withSlow = await latencyRun(direct, P.slowStreams, 5, P.slowSeconds, 1, null);
  const rssSlow1 = await rssOf(workerPid);
  const statsWithSlow = await stack.stats();
  results.slowConsumer = {
    streams: P.slowStreams,
    othersP99WithoutSlow: without.p99,
    othersP99WithSlow: withSlow.p99,
    othersDeliveries: `${withSlow.deliveries}/${withSlow.expected}`,
    workerdRssGrowthBytes: rssSlow1 - rssSlow0,
    slowStreamDisconnected:
      statsWithSlow.connectedClients === P.slowStreams ? "yes" : "not within the run (loopback TCP buffers still absorbing)",
  };
  strip(withSlow);
  slowViewers[0]!.close();
  await sleep(2000);

  log(`reconnect storm: ${P.stormStreams} streams, workerd restarted under them`);
  const stormBase = stack.url; // through wrangler's proxy: its port survives the restart
  const storm = await openViewers(`${stormBase}/api/dashboards/${DASHBOARD}/events?history=0`, P.stormStreams, {
    mode: "parse",
    reconnect: true,
  });
  const stormPublisher = startPublisher(stack.ingestUrl(), INGEST_TOKEN, 2);
  await sleep(3000);
  const cutAt = Date.now();
  await stack.restart(); // every object evicted, every stream cut: a deploy
  for (const v of storm) v.cut(); // the ones the restart did not already cut
  const readyAt = Date.now();
  await Promise.all(storm.map((v) => v.whenOpen()));
  const allResumedAt = Date.now();
  await sleep(4000);
  await stormPublisher.stop();
  await sleep(2000);
  let missing = 0;
  let duplicates = 0;
  for (const v of storm) {
    const seen = new Set(v.ids);
    duplicates += v.ids.length - seen.size;
    const firstSeen = stormPublisher.ids.indexOf(v.ids[0]!);
    for (const id of stormPublisher.ids.slice(Math.max(0, firstSeen))) if (!seen.has(id)) missing++;
    v.close();
  }
  results.reconnectStorm = {
    streams: P.stormStreams,
    published: stormPublisher.ids.length,
    publishErrorsDuringRestart: stormPublisher.errors,
    restartMs: readyAt - cutAt,
    allResumedMsAfterRestart: allResumedAt - readyAt,
    missing,
    duplicates,
  };
} finally {
  await stack.stop();
}

// ---- the baseline --------------------------------------------------------------------------
log("baseline: plain Node SSE server, same loads");
const baseline = await startBaselineProcess();
try {
  strip(await latencyRun(baseline.url, 10, 10, 2, 1, null));
  const rss0 = await rssOf(baseline.pid);
  const idle = await openViewers(`${baseline.url}/api/dashboards/${DASHBOARD}/events`, P.idleStreams, { mode: "count" });
  await sleep(3000);
  const rss1 = await rssOf(baseline.pid);
  for (const v of idle) v.close();
  await sleep(2000);
  const latency = strip(await latencyRun(baseline.url, P.streams, 1, P.latencySeconds, 1, baseline.pid));
  await sleep(1000);
  const throughput = strip(await throughputRun(baseline.url, baseline.pid, null));
  results.baseline = { idleRssBytesPerStream: Math.round((rss1 - rss0) / P.idleStreams), latency, throughput };
} finally {
  baseline.proc.kill("SIGTERM");
}

// ---- the object and the Worker in separate processes (bench/split/) -------------------------
log("split: the object and the Worker in separate workerd processes, beside one process and Node");
results.split = await runSplitScenario(quick, log);

// ---- past one object: viewers on relays (full runs only) -----------------------------------
if (!quick) {
  log(`relays: ${RELAYS.viewers} viewers on ${RELAYS.relays} relay objects`);
  results.relays = await runRelayScenario(relayParameters(RELAYS.relays, RELAYS.viewers, false), log);
}

// ---- report --------------------------------------------------------------------------------
const r = results as {
  idleMemory: { workerdRssBytesPerStream: number; isolateHeapBytesPerStream: number | null };
  latency: LatencyResult;
  throughput: ThroughputResult;
  redis: { commandsPerPublishedEvent: number };
  unwatched: { reads: number };
  reconnectStorm: { missing: number; duplicates: number; allResumedMsAfterRestart: number };
  slowConsumer: { othersP99WithoutSlow: number; othersP99WithSlow: number; workerdRssGrowthBytes: number; slowStreamDisconnected: string };
  baseline: { idleRssBytesPerStream: number; latency: LatencyResult; throughput: ThroughputResult };
};
const kb = (b: number | null) => (b === null ? "n/a" : `${(b / 1024).toFixed(1)} KB`);
const mark = (ok: boolean) => (ok ? "met" : "**not met**");
const ratio = r.latency.p99 / r.baseline.latency.p99;
const rows: [string, string, string, string][] = [
  [
    "latency p99, 1,000 streams, 1 event/s",
    "≤ 50 ms",
    `${r.latency.p99} ms (p50 ${r.latency.p50}, max ${r.latency.max})`,
    mark(r.latency.p99 <= 50),
  ],
  [
    "memory per idle stream: Durable Object isolate heap",
    "≤ 8 KB",
    kb(r.idleMemory.isolateHeapBytesPerStream),
    mark((r.idleMemory.isolateHeapBytesPerStream ?? Infinity) <= 8192),
  ],
  ["memory per idle stream: workerd process (RSS)", "(reported)", kb(r.idleMemory.workerdRssBytesPerStream), "—"],
  [
    "deliveries per second from one dashboard object",
    "≥ 100,000",
    `${r.throughput.deliveriesPerSecond.toLocaleString("en")} (baseline ${r.baseline.throughput.deliveriesPerSecond.toLocaleString("en")})`,
    mark(r.throughput.deliveriesPerSecond >= 100_000),
  ],
  [
    "Redis commands per delivered event (steady state)",
    "≤ 1.05",
    String(r.redis.commandsPerPublishedEvent),
    mark(r.redis.commandsPerPublishedEvent <= 1.05),
  ],
  ["unwatched dashboard: Redis reads", "0", String(r.unwatched.reads), mark(r.unwatched.reads === 0)],
  [
    "reconnect storm: missing / duplicate events",
    "0 / 0",
    `${r.reconnectStorm.missing} / ${r.reconnectStorm.duplicates} (all resumed ${r.reconnectStorm.allResumedMsAfterRestart} ms after restart)`,
    mark(r.reconnectStorm.missing === 0 && r.reconnectStorm.duplicates === 0),
  ],
  [
    "p99 vs the Node baseline at 1,000 streams",
    "within 2×",
    `${ratio.toFixed(2)}× (baseline p99 ${r.baseline.latency.p99} ms)`,
    mark(ratio <= 2),
  ],
  [
    "slow consumer: the others' p99 without → with it",
    "(reported)",
    `${r.slowConsumer.othersP99WithoutSlow} → ${r.slowConsumer.othersP99WithSlow} ms; workerd RSS ${kb(r.slowConsumer.workerdRssGrowthBytes)}; cut: ${r.slowConsumer.slowStreamDisconnected}`,
    "—",
  ],
  ["idle memory per stream, Node baseline (RSS)", "(reported)", kb(r.baseline.idleRssBytesPerStream), "—"],
];
const table = ["| figure | target | measured | |", "|---|---|---|---|", ...rows.map((row) => `| ${row.join(" | ")} |`)].join("\n");
console.log(`\n${table}\n`);
console.log(
  `CPU per delivery: workerd ${r.latency.serverCpuMicrosPerDelivery} µs, Node baseline ${r.baseline.latency.serverCpuMicrosPerDelivery} µs`,
);
const relays = results.relays as RelayResults | undefined;
const relaySection = relays
  ? `\n\n### Past one object: ${relays.parameters.viewers.toLocaleString("en")} viewers on ${relays.parameters.relays} relays\n\n${relayTable(relays)}`
  : "";
if (relays) console.log(`${relaySection.trim()}\n`);
const splitSection = `\n\n### The object and the Worker in separate processes (1 event/s, ${(results.split as SplitResults).seconds} s each)\n\n${splitTable(results.split as SplitResults)}`;
console.log(`${splitSection.trim()}\n`);

await mkdir("bench/results", { recursive: true });
await writeFile(`bench/results/${quick ? "quick" : "latest"}.json`, JSON.stringify(results, null, 2) + "\n");
if (!quick) {
  const doc = (await readFile("docs/BENCHMARKS.md", "utf8").catch(() => "")).split("<!-- results -->")[0]!.trimEnd();
  await writeFile(
    "docs/BENCHMARKS.md",
    `${doc || "# Benchmarks"}\n\n<!-- results -->\n## Latest full run\n\n\`${results.command}\` on ${(results.machine as { cpu: string }).cpu}, ${(results.machine as { memory: string }).memory}, Node ${(results.machine as { node: string }).node}, ${(results.machine as { date: string }).date}.\n\n${table}${splitSection}${relaySection}\n\nRaw figures: \`bench/results/latest.json\`.\n`,
  );
}
