// `npm run bench:cost [-- --samples 3600] [-- --log sqlite|upstash]`: what a dashboard costs in
// storage, read from GET …/stats as an operator would. Through the product's routes under
// `wrangler dev` (bench/cost-worker adds a route for health-check runs), an hour's worth of each,
// fast-forwarded: 1 Hz samples of 5 and of 32 metrics (one per ingest request, timestamps a
// second apart), log lines in requests of 10, check runs 30 s apart; and a simulated dashboard
// nobody watches through two cron invocations. On each event log: rows written per sample, log
// line and check run, object requests per sample, Redis commands per event (Upstash). Then the
// monthly cost from list prices (bench/prices.ts). Rewrites the cost sections of
// docs/BENCHMARKS.md and README.md, and bench/results/cost.json.
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import type { DashboardStats } from "../contract/index.ts";
import { costTable, monthly, PRICES_READ, type Measured } from "./prices.ts";
import { machine, writeResults, writeSection } from "./report.ts";
import { INGEST_TOKEN, Stack } from "./stack.ts";

const { values: args } = parseArgs({ options: { samples: { type: "string", default: "3600" }, log: { type: "string", default: "both" } } });
const SAMPLES = Number(args.samples);
const LOGS = (args.log === "both" ? ["sqlite", "upstash"] : [args.log]) as ("sqlite" | "upstash")[];

const metrics32 = Array.from({ length: 32 }, (_, i) => ({ name: `m${i}`, decimals: 2, min: 0, max: 1000, warning: 800, critical: 900 }));
const DASHBOARDS = [
  { id: "cost5", name: "5 metrics", simulate: false },
  { id: "cost32", name: "32 metrics", simulate: false, metrics: metrics32 },
  { id: "costlogs", name: "Logs", simulate: false },
  { id: "costchecks", name: "Checks", simulate: false, checks: [{ name: "api", url: "http://127.0.0.1:9/", intervalSeconds: 30 }] },
  { id: "costsim", name: "Simulated, unwatched" },
];

interface Figures {
  rowsPerSample5: number;
  rowsPerSample32: number;
  rowsReadPerSample: number;
  rowsPerLogLine: number;
  rowsPerCheckRun: number;
  /** In steady state each event's chunk is also deleted once (1 / events per chunk). */
  trimRowsPerEvent: number;
  unwatchedSimulatedRows: number;
  objectRequestsPerSample: number;
  redisCommandsPerEvent: number | null;
  storageBytes: number;
}

async function measure(log: "sqlite" | "upstash"): Promise<Figures> {
  const stack = await Stack.start({
    log,
    configs: ["bench/cost-worker/wrangler.toml"],
    vars: {
      DASHBOARDS: JSON.stringify(DASHBOARDS),
      PUBLISH_WINDOW_SECONDS: "3",
      LOG_BURST: "100000",
      LOG_RATE_PER_SECOND: "100000",
      // The hour of samples reaches back past the default retention by its first one.
      RETENTION_SECONDS: String(Math.max(3600, SAMPLES + 120)),
    },
  });
  try {
    const stats = async (id: string) => (await (await fetch(`${stack.url}/api/dashboards/${id}/stats`)).json()) as DashboardStats;
    const post = (path: string, body: unknown) =>
      fetch(`${stack.url}${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${INGEST_TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }).then(async (r) => {
        if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
      });
    await stack.redis.resetStats();
    const events0 = { cost5: 0, cost32: 0, costlogs: 0 };

    const samples = async (id: "cost5" | "cost32", make: (i: number) => Record<string, number>) => {
      const end = Math.floor(Date.now() / 1000) * 1000;
      await post(`/api/dashboards/${id}/metrics`, { ...make(0), timestamp: new Date(end - SAMPLES * 1000 - 1000).toISOString() });
      const before = await stats(id);
      for (let i = 0; i < SAMPLES; i++)
        await post(`/api/dashboards/${id}/metrics`, { ...make(i), timestamp: new Date(end - (SAMPLES - i) * 1000).toISOString() });
      const after = await stats(id);
      events0[id] = after.eventsPublished;
      return {
        written: (after.storage.rowsWritten - before.storage.rowsWritten) / SAMPLES,
        read: (after.storage.rowsRead - before.storage.rowsRead) / SAMPLES,
        bytes: after.storage.bytes,
      };
    };
    const five = await samples("cost5", (i) => ({ cpu: 40 + (i % 9), memory: 61, rps: 1200 + i, activeConnections: 130, errorRate: 0.4 }));
    const wide = await samples("cost32", (i) => Object.fromEntries(metrics32.map((m, k) => [m.name, (i + k) % 500])));

    const line = (i: number) => ({
      level: "info",
      message: `GET /api/orders 200 in ${20 + (i % 180)} ms`,
      attributes: { route: "/api/orders", i },
    });
    await post("/api/dashboards/costlogs/logs", [line(0)]);
    const logsBefore = await stats("costlogs");
    for (let r = 0; r < SAMPLES / 10; r++)
      await post(
        "/api/dashboards/costlogs/logs",
        Array.from({ length: 10 }, (_, i) => line(r * 10 + i)),
      );
    const logsAfter = await stats("costlogs");
    events0.costlogs = logsAfter.eventsPublished;

    const runs = Math.round(SAMPLES / 30);
    const checks = async (n: number) => (await fetch(`${stack.url}/bench/check-runs?dashboard=costchecks&check=api&n=${n}`)).ok;
    await checks(1);
    const checksBefore = await stats("costchecks");
    await checks(runs);
    const checksAfter = await stats("costchecks");

    const simBefore = await stats("costsim");
    for (let i = 0; i < 2; i++) await fetch(`${stack.url}/cdn-cgi/handler/scheduled`);
    const simAfter = await stats("costsim");

    // The event log's chunks (SQLite only): trimming deletes each once.
    const layout =
      log === "sqlite"
        ? ((await (await fetch(`${stack.url}/bench/layout?dashboard=cost5`)).json()) as { chunks: number; events: number })
        : null;
    const events = Object.values(events0).reduce((a, b) => a + b, 0) + (checksAfter.eventsPublished - checksBefore.eventsPublished);
    const commands = log === "upstash" ? Object.values(await stack.redis.commandStats()).reduce((a, b) => a + b, 0) : null;
    return {
      rowsPerSample5: five.written,
      rowsPerSample32: wide.written,
      rowsReadPerSample: five.read,
      rowsPerLogLine: (logsAfter.storage.rowsWritten - logsBefore.storage.rowsWritten) / SAMPLES,
      rowsPerCheckRun: (checksAfter.storage.rowsWritten - checksBefore.storage.rowsWritten) / runs,
      trimRowsPerEvent: layout && layout.events > 0 ? layout.chunks / layout.events : 0,
      unwatchedSimulatedRows: simAfter.storage.rowsWritten - simBefore.storage.rowsWritten,
      // Each ingest request is one call to the object; the cron asks a simulated dashboard once a minute.
      objectRequestsPerSample: 1,
      redisCommandsPerEvent: commands === null ? null : commands / events,
      storageBytes: Math.max(five.bytes, wide.bytes),
    };
  } finally {
    await stack.stop();
  }
}

/** Once a dashboard's history is HISTORY_DAYS old, each bucket written is matched by one trimmed. */
const HISTORY_TRIMS_PER_SAMPLE = 1 / 60 + 1 / 300 + 1 / 3600;

const figures: Partial<Record<"sqlite" | "upstash", Figures>> = {};
for (const log of LOGS) {
  figures[log] = await measure(log);
  console.log(log, figures[log]);
}
const f = (n: number | null | undefined, d = 3) => (n === null || n === undefined ? "—" : n.toFixed(d));
const table = [
  "| per … | SQLite log | Upstash log | target |",
  "|---|---|---|---|",
  `| sample, 5 metrics (rows written) | ${f(figures.sqlite?.rowsPerSample5)} | ${f(figures.upstash?.rowsPerSample5)} | ≤ 1.1 (Upstash ≤ 0.1) |`,
  `| sample, 32 metrics (rows written) | ${f(figures.sqlite?.rowsPerSample32)} | ${f(figures.upstash?.rowsPerSample32)} | ≤ 1.1 (Upstash ≤ 0.1) |`,
  `| log line, requests of 10 (rows written) | ${f(figures.sqlite?.rowsPerLogLine)} | ${f(figures.upstash?.rowsPerLogLine)} | ≤ 1.1 |`,
  `| health-check run (rows written) | ${f(figures.sqlite?.rowsPerCheckRun)} | ${f(figures.upstash?.rowsPerCheckRun)} | ≤ 1.1 |`,
  `| event, trimming in steady state (rows written) | ${f(figures.sqlite?.trimRowsPerEvent)} | 0 | — |`,
  `| sample, history trimming in steady state (rows written) | ${f(HISTORY_TRIMS_PER_SAMPLE)} | ${f(HISTORY_TRIMS_PER_SAMPLE)} | — |`,
  `| sample (rows read) | ${f(figures.sqlite?.rowsReadPerSample)} | ${f(figures.upstash?.rowsReadPerSample)} | — |`,
  `| simulated dashboard nobody watches, two cron minutes (rows written) | ${f(figures.sqlite?.unwatchedSimulatedRows, 0)} | ${f(figures.upstash?.unwatchedSimulatedRows, 0)} | 0 |`,
  `| sample (object requests) | ${f(figures.sqlite?.objectRequestsPerSample, 0)} | ${f(figures.upstash?.objectRequestsPerSample, 0)} | — |`,
  `| event (Redis commands) | — | ${f(figures.upstash?.redisCommandsPerEvent)} | ≤ 1.05 |`,
].join("\n");
console.log(table);

if (figures.sqlite && figures.upstash) {
  const steady = (x: Figures): Measured => ({
    rowsWrittenPerSample: x.rowsPerSample5 + x.trimRowsPerEvent + HISTORY_TRIMS_PER_SAMPLE,
    rowsReadPerSample: x.rowsReadPerSample,
    redisCommandsPerEvent: x.redisCommandsPerEvent ?? 0,
    storageBytes: x.storageBytes,
  });
  const measured = { sqlite: steady(figures.sqlite), upstash: steady(figures.upstash) };
  const costs = costTable(measured);
  console.log(costs);
  const parts = monthly({ dashboards: 100, viewers: 1000, log: "sqlite" }, measured.sqlite).parts;
  const m = machine();
  await writeResults("cost", { command: "npm run bench:cost", machine: m, samples: SAMPLES, figures, measured, pricesRead: PRICES_READ });
  await writeSection(
    "cost",
    [
      "### What a dashboard writes (latest run)",
      "",
      `\`npm run bench:cost\` on ${m.cpu}, ${m.memory}, Node ${m.node}, ${m.date}: ${SAMPLES} samples (an hour at 1 Hz, fast-forwarded) per dashboard, ${SAMPLES} log lines in requests of 10, ${Math.round(SAMPLES / 30)} check runs, through the product's routes under \`wrangler dev\`; rows from \`GET …/stats\`.`,
      "",
      table,
      "",
      `### What it costs a month (prices read ${PRICES_READ})`,
      "",
      costs,
      "",
      `100 dashboards with 1,000 viewers each on the SQLite log: ${Object.entries(parts)
        .map(([k, v]) => `${k} $${v.toFixed(2)}`)
        .join(", ")}. Raw figures: \`bench/results/cost.json\`.`,
    ].join("\n"),
  );
  const readme = await readFile("README.md", "utf8");
  await writeFile(
    "README.md",
    readme.replace(/<!-- cost-table -->[\s\S]*<!-- \/cost-table -->/, `<!-- cost-table -->\n${costs}\n<!-- /cost-table -->`),
  );
}
