// `npm run bench:series`: history queries on a week of data. Seeds 7 days × 86,400 s × 5 metrics
// of 1 Hz samples into one dashboard object (bench/series-worker: through Rollups.add, the code
// commits use, instead of 600,000 ingest requests), then times the 24 h and 7 d queries, from a
// client over HTTP and from inside workerd, and measures the answers' gzip size. Prints a table
// and rewrites the history section of docs/BENCHMARKS.md and bench/results/series.json.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { freePort } from "../tools/free-port.ts";
import { percentile } from "./load.ts";

const DAYS = 7;
const WARMUP = 30;
const RUNS = 300;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const BUDGET = { p99Ms: 30, gzipBytes: 100 * 1024 };

async function startWorker(): Promise<{ url: string; proc: ChildProcess; dir: string }> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "rtd-bench-series-"));
  const args = [
    "wrangler",
    "dev",
    "-c",
    "bench/series-worker/wrangler.toml",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--persist-to",
    dir,
    "--inspector-port",
    String(await freePort()),
  ];
  const proc = spawn("npx", args, {
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let log = "";
  proc.stdout!.on("data", (d: Buffer) => (log = (log + d).slice(-5000)));
  proc.stderr!.on("data", (d: Buffer) => (log = (log + d).slice(-5000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (
      await fetch(`${url}/api/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, proc, dir };
    if (Date.now() > deadline) throw new Error(`wrangler dev did not come up: ${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Row {
  query: string;
  path: string;
  step: string;
  points: number;
  bytes: number;
  gzipBytes: number;
  client: { p50: number; p99: number };
  workerd: { p50: number; p99: number };
  /** Rollups.queryJson alone, inside the object (ms, mean). */
  objectMs: number;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

async function measure(url: string, query: string, path: () => string): Promise<Row> {
  const body = await (await fetch(url + path())).text();
  const answer = JSON.parse(body) as { step?: string; t?: number[] };
  for (let i = 0; i < WARMUP; i++) await (await fetch(url + path())).arrayBuffer();
  const client: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await (await fetch(url + path())).arrayBuffer();
    client.push(performance.now() - t0);
  }
  const inside = (await (await fetch(`${url}/bench/time?n=${RUNS}&path=${encodeURIComponent(path())}`)).json()) as { times: number[] };
  // Warm by now (JIT, SQLite's page cache), as the runs above were.
  const from = Number(new URL(path(), url).searchParams.get("from"));
  const to = Number(new URL(path(), url).searchParams.get("to") ?? Date.now());
  const objectMs = answer.step
    ? ((await (await fetch(`${url}/bench/query-cost?from=${from}&to=${to}&step=${answer.step}&n=100`)).json()) as number)
    : NaN;
  return {
    query,
    path: path(),
    step: answer.step ?? "—",
    points: answer.t?.length ?? NaN,
    bytes: Buffer.byteLength(body),
    gzipBytes: gzipSync(body).length,
    client: { p50: round1(percentile(client, 50)), p99: round1(percentile(client, 99)) },
    workerd: { p50: round1(percentile(inside.times, 50)), p99: round1(percentile(inside.times, 99)) },
    objectMs: round1(objectMs),
  };
}

const { url, proc, dir } = await startWorker();
try {
  const end = Math.floor(Date.now() / 1000) * 1000;
  const seedStart = Date.now();
  for (let day = 0; day < DAYS; day++) {
    const r = await fetch(`${url}/bench/seed?day=${day}&days=${DAYS}&end=${end}`, { method: "POST" });
    if (!r.ok) throw new Error(`seed day ${day}: ${r.status} ${await r.text()}`);
  }
  const seedSeconds = round1((Date.now() - seedStart) / 1000);
  console.log(`seeded ${DAYS} days × 86,400 samples × 5 metrics in ${seedSeconds} s`);

  const base = "/api/dashboards/bench/series";
  // As a client asks: the range ends now (so every request reaches the object: no caching).
  const rows = [
    await measure(url, "24 h, step auto", () => `${base}?from=${Date.now() - DAY}`),
    await measure(url, "7 d, step auto", () => `${base}?from=${Date.now() - 7 * DAY}`),
    await measure(url, "7 d, step=1h", () => `${base}?from=${Date.now() - 7 * DAY}&step=1h`),
    // An old range: after the first answer, repeats come from the Worker's cache.
    await measure(
      url,
      "6 d ending 2 h ago, repeated (Worker cache)",
      () => `${base}?from=${end - 6 * DAY - 2 * HOUR}&to=${end - 2 * HOUR}`,
    ),
    // The fixed cost of reaching the object at all: a call that does no history work.
    await measure(url, "reference: GET …/stats (the same object, no history work)", () => "/api/dashboards/bench/stats"),
  ];
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(", ");
  const cpu = cpus();
  const machine = {
    cpu: `${cpu.length} × ${cpu[0]?.model ?? "?"}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    date: new Date().toISOString(),
    loadAverage: load,
  };

  const met = (r: Row) => r.workerd.p99 <= BUDGET.p99Ms && r.gzipBytes <= BUDGET.gzipBytes;
  const table = [
    "| query | step | points per series | answer (gzip) | p50 / p99 inside workerd | of which the object's query (mean) | p50 / p99 client over HTTP | target (p99 ≤ 30 ms, ≤ 100 KB gzip) |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.query} | ${r.step} | ${Number.isNaN(r.points) ? "—" : r.points} | ${(r.bytes / 1024).toFixed(1)} KB (${(r.gzipBytes / 1024).toFixed(1)} KB) | ${r.workerd.p50} / ${r.workerd.p99} ms | ${Number.isNaN(r.objectMs) ? "—" : `${r.objectMs} ms`} | ${r.client.p50} / ${r.client.p99} ms | ${r.query.startsWith("24 h") || r.query.startsWith("7 d, step auto") ? (met(r) ? "met" : "**not met**") : "—"} |`,
    ),
  ].join("\n");
  console.log(table);

  await mkdir("bench/results", { recursive: true });
  await writeFile(
    "bench/results/series.json",
    JSON.stringify({ command: "npm run bench:series", machine, seedSeconds, runs: RUNS, rows }, null, 2) + "\n",
  );
  const section = [
    "<!-- series -->",
    "### Latest run",
    "",
    `\`npm run bench:series\` on ${machine.cpu}, ${machine.memory}, Node ${machine.node}, ${machine.date}, load average ${load} (the machine is shared). ${DAYS} days × 86,400 s × 5 metrics seeded in ${seedSeconds} s; ${RUNS} sequential requests per query after ${WARMUP} to warm up.`,
    "",
    table,
    "",
    "Raw figures: `bench/results/series.json`.",
    "<!-- /series -->",
  ].join("\n");
  const doc = await readFile("docs/BENCHMARKS.md", "utf8");
  await writeFile("docs/BENCHMARKS.md", doc.replace(/<!-- series -->[\s\S]*<!-- \/series -->/, section));
} finally {
  process.kill(-proc.pid!, "SIGTERM");
  await rm(dir, { recursive: true, force: true });
}
