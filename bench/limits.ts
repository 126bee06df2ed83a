// `npm run bench:limits [-- --minutes 10]`: the worst case the limits let anyone send one
// dashboard, for ten minutes, and what it does to the dashboard's object: the largest log lines
// (8 KB) at LOG_RATE_PER_SECOND, and the widest samples (32 metrics) at INGEST_POINTS_PER_SECOND,
// both through the product's routes under `wrangler dev` (the defaults of wrangler.toml), with a
// viewer watching and another asking for an hour of history every 30 s. Every 30 s: the isolate's
// heap after a GC (inspector protocol) and how long GET …/stats takes. Target: the heap stays
// under 64 MB and the object keeps answering. Rewrites its section of docs/BENCHMARKS.md and
// bench/results/limits.json.
import { parseArgs } from "node:util";
import type { DashboardStats } from "../contract/index.ts";
import { machine, writeResults, writeSection } from "./report.ts";
import { INGEST_TOKEN, Stack } from "./stack.ts";

const { values: args } = parseArgs({ options: { minutes: { type: "string", default: "10" } } });
const MINUTES = Number(args.minutes);
const LOG_RATE = 200; // wrangler.toml: LOG_RATE_PER_SECOND
const POINT_RATE = 50_000; // wrangler.toml: INGEST_POINTS_PER_SECOND
const metrics = Array.from({ length: 32 }, (_, i) => ({ name: `m${i}`, decimals: 2, min: 0, max: 1e6 }));
const DASHBOARD = { id: "worst", name: "Worst case", simulate: false, metrics };
const HEAP_TARGET = 64 * 1024 * 1024;

const stack = await Stack.start({ log: "sqlite", vars: { DASHBOARDS: JSON.stringify([DASHBOARD]) } });
const base = `${stack.url}/api/dashboards/worst`;
const post = async (path: string, body: unknown): Promise<number> => {
  const r = await fetch(`${base}/${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${INGEST_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  await r.arrayBuffer();
  return r.status;
};
const statuses = new Map<number, number>();
const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
const until = Date.now() + MINUTES * 60_000;

/** Calls `send` `perSecond / batch` times a second, each with `batch` items, until the end. */
async function paced(perSecond: number, batch: number, send: (n: number) => Promise<number>): Promise<void> {
  const every = (batch / perSecond) * 1000;
  for (let next = Date.now(); Date.now() < until; next += every) {
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    count(await send(batch));
  }
}

const text = "x".repeat(8 * 1024 - 64);
let logN = 0;
const logs = paced(LOG_RATE, 100, (n) =>
  post(
    "logs",
    Array.from({ length: n }, () => ({ level: "info", message: `${logN++} ${text}`.slice(0, 8 * 1024) })),
  ),
);
let clock = Date.now() - 30 * 60_000;
const samples = paced(POINT_RATE / 32, 100, (n) =>
  post(
    "metrics",
    Array.from({ length: n }, () => ({
      ...Object.fromEntries(metrics.map((m, k) => [m.name, (clock + k) % 1e6])),
      timestamp: new Date((clock += 1)).toISOString(),
    })),
  ),
);

// A viewer watching, and another asking for an hour of history every 30 s.
const watcher = await fetch(`${base}/events?history=0&logs=debug`);
const drain = (async () => {
  const reader = watcher.body!.getReader();
  let bytes = 0;
  while (Date.now() < until) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
  }
  await reader.cancel().catch(() => {});
  return bytes;
})();

const rows: { minute: number; heapMiB: number | null; statsMs: number; status: number; events: number }[] = [];
while (Date.now() < until) {
  await new Promise((r) => setTimeout(r, 30_000));
  const history = await fetch(`${base}/events?history=3600&logs=debug`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
  await history?.body?.cancel();
  const t0 = Date.now();
  const stats = await fetch(`${base}/stats`, { signal: AbortSignal.timeout(10_000) }).catch(() => null);
  const statsMs = Date.now() - t0;
  const body = stats?.ok ? ((await stats.json()) as DashboardStats) : null;
  const heap = await stack.heapUsed();
  rows.push({
    minute: Math.round((MINUTES * 60_000 - (until - Date.now())) / 600) / 100,
    heapMiB: heap === null ? null : Math.round((heap / 1048576) * 10) / 10,
    statsMs,
    status: stats?.status ?? 0,
    events: body?.eventsPublished ?? 0,
  });
  console.log(rows.at(-1));
}
await Promise.all([logs, samples]);
const streamed = await drain;
await stack.stop();

const maxHeap = Math.max(...rows.map((r) => r.heapMiB ?? Infinity));
const answered = rows.every((r) => r.status === 200);
const m = machine();
const table = [
  "| minute | isolate heap after GC | GET …/stats | events published so far |",
  "|---|---|---|---|",
  ...rows.map((r) => `| ${r.minute} | ${r.heapMiB ?? "—"} MiB | ${r.status} in ${r.statsMs} ms | ${r.events.toLocaleString("en")} |`),
].join("\n");
console.log(table);
const answers = [...statuses].map(([s, n]) => `${n} × ${s}`).join(", ");
await writeResults("limits", {
  command: "npm run bench:limits",
  machine: m,
  minutes: MINUTES,
  rows,
  statuses: Object.fromEntries(statuses),
  streamedBytes: streamed,
});
await writeSection(
  "limits",
  [
    "### Worst case the limits allow (latest run)",
    "",
    `\`npm run bench:limits\` on ${m.cpu}, ${m.memory}, Node ${m.node}, ${m.date}: ${MINUTES} minutes of 8 KB log lines at ${LOG_RATE}/s and 32-metric samples at ${POINT_RATE.toLocaleString("en")} values/s into one dashboard, one viewer taking everything, another asking for an hour of history every 30 s. Ingest answers: ${answers}.`,
    "",
    table,
    "",
    `Largest heap: ${maxHeap} MiB (target < ${HEAP_TARGET / 1048576} MiB: ${maxHeap < HEAP_TARGET / 1048576 ? "met" : "**not met**"}); the object ${answered ? "answered every request" : "**missed requests**"}. Raw figures: \`bench/results/limits.json\`.`,
  ].join("\n"),
);
