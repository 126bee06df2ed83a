// `npm run bench:ingest [-- --seconds 10]`: points per second one dashboard object accepts through
// InfluxDB line protocol (batches of 5,000 lines), OTLP protobuf (5,000 data points) and
// Prometheus remote write (5,000 samples, snappy), end to end through `wrangler dev` (local
// workerd, default SQLite event log), plus the parse + mapping CPU per point measured in this
// process with the Worker's own modules (same V8 as workerd).
// Separate from bench/run.ts on purpose (own wrangler dev, own dashboard, no viewers).
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { compress } from "snappyjs";
import type { DashboardDef } from "../contract/index.ts";
import { parseLineProtocol } from "../worker/protocols/line-protocol.ts";
import { decodeOtlpMetrics } from "../worker/protocols/otlp.ts";
import { ExportMetricsServiceRequestSchema } from "../worker/protocols/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.ts";
import { WriteRequestSchema } from "../worker/protocols/gen/prometheus/remote_pb.ts";
import { decodeRemoteWrite } from "../worker/protocols/remote-write.ts";
import { mapPoints } from "../worker/ingest/mapping.ts";
import { INGEST_TOKEN, Stack } from "./stack.ts";

const { values: args } = parseArgs({
  options: { seconds: { type: "string", default: "10" }, concurrency: { type: "string", default: "2" } },
});
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const TOKEN = INGEST_TOKEN;
const BATCH = 5000;
const SERIES = 32; // one metric per series; 5,000 points = ~157 samples of 32 values
const metrics = Array.from({ length: SERIES }, (_, k) => ({
  name: `m${k}`,
  decimals: 2,
  source: { name: "bench_value", attributes: { series: `s${k}` } },
}));
const DASHBOARD = { id: "ingest-bench", name: "Ingest bench", simulate: false, metrics };

let clock = Date.now() - 30 * 60_000; // 30 minutes back, moving 1 ms per sample: always within retention
function lineBatch(): string {
  const out: string[] = [];
  for (let i = 0; i < BATCH; i++) {
    if (i % SERIES === 0) clock++;
    out.push(`bench,series=s${i % SERIES} value=${(i % 1000) / 10} ${clock}`);
  }
  return out.join("\n");
}
function otlpBatch(): Uint8Array {
  const dataPoints = [];
  for (let i = 0; i < BATCH; i++) {
    if (i % SERIES === 0) clock++;
    dataPoints.push({
      timeUnixNano: BigInt(clock) * 1_000_000n,
      value: { case: "asDouble" as const, value: (i % 1000) / 10 },
      attributes: [{ key: "series", value: { value: { case: "stringValue" as const, value: `s${i % SERIES}` } } }],
    });
  }
  const metric = { name: "bench_value", data: { case: "gauge" as const, value: { dataPoints } } };
  return toBinary(
    ExportMetricsServiceRequestSchema,
    create(ExportMetricsServiceRequestSchema, { resourceMetrics: [{ scopeMetrics: [{ metrics: [metric] }] }] }),
  );
}

/** A remote write request as Prometheus batches one: each series once, with its samples in time order. */
function remoteWriteBatch(): Uint8Array {
  const samples: { value: number; timestamp: bigint }[][] = Array.from({ length: SERIES }, () => []);
  for (let i = 0; i < BATCH; i++) {
    if (i % SERIES === 0) clock++;
    samples[i % SERIES]!.push({ value: (i % 1000) / 10, timestamp: BigInt(clock) });
  }
  const timeseries = samples.map((list, k) => ({
    labels: [
      { name: "__name__", value: "bench_value" },
      { name: "instance", value: "bench:9100" },
      { name: "job", value: "bench" },
      { name: "series", value: `s${k}` },
    ],
    samples: list,
  }));
  return compress(toBinary(WriteRequestSchema, create(WriteRequestSchema, { timeseries })));
}

/** Parse (+ decode) and map CPU per point, in µs, best of 20 runs. */
function parseCost(): { line: number; otlp: number; prometheus: number } {
  const def = {
    ...DASHBOARD,
    seed: false,
    checks: [],
    metrics: metrics.map((m) => ({ ...m, label: m.name, unit: "", direction: "above" as const })),
  } as DashboardDef;
  const opts = () => ({ now: Date.now(), retentionSeconds: 3600 });
  const best = (f: () => void) => {
    let min = Infinity;
    for (let r = 0; r < 20; r++) {
      const t0 = process.hrtime.bigint();
      f();
      min = Math.min(min, Number(process.hrtime.bigint() - t0) / 1000);
    }
    return min / BATCH;
  };
  const text = lineBatch();
  const bytes = otlpBatch();
  const block = remoteWriteBatch();
  return {
    line: best(() => mapPoints(def, parseLineProtocol(text, "ms").points, opts())),
    otlp: best(() => mapPoints(def, decodeOtlpMetrics(bytes, "protobuf").points, opts())),
    prometheus: best(() => mapPoints(def, decodeRemoteWrite(block, 4 * 1024 * 1024).points, opts())),
  };
}

type Kind = "line" | "otlp" | "prometheus";

/** URL, body, headers and the success status of one request of `kind`. */
function request(base: string, kind: Kind): [string, Uint8Array | string, Record<string, string>, number] {
  if (kind === "line")
    return [
      `${base}/api/v2/write?bucket=${DASHBOARD.id}&precision=ms`,
      lineBatch(),
      { Authorization: `Token ${TOKEN}`, "Content-Type": "text/plain" },
      204,
    ];
  const bearer = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/x-protobuf" };
  if (kind === "otlp") return [`${base}/api/dashboards/${DASHBOARD.id}/otlp/v1/metrics`, otlpBatch(), bearer, 200];
  return [
    `${base}/api/dashboards/${DASHBOARD.id}/prometheus/api/v1/write`,
    remoteWriteBatch(),
    { ...bearer, "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0" },
    204,
  ];
}

async function push(base: string, kind: Kind): Promise<{ pointsPerSecond: number; requests: number; failures: number }> {
  let points = 0,
    requests = 0,
    failures = 0;
  const until = Date.now() + SECONDS * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) {
        const [url, body, headers, ok] = request(base, kind);
        const r = await fetch(url, { method: "POST", headers, body: body as BodyInit });
        await r.arrayBuffer();
        requests++;
        if (r.status === ok) points += BATCH;
        else if (failures++ === 0) console.error(`${kind}: ${r.status}`);
      }
    }),
  );
  return { pointsPerSecond: Math.round(points / ((Date.now() - started) / 1000)), requests, failures };
}

async function main() {
  // The objects' own SQLite log, as a default deployment; the rate limit out of the way.
  const stack = await Stack.start({
    log: "sqlite",
    vars: { DASHBOARDS: JSON.stringify([DASHBOARD]), INGEST_POINTS_PER_SECOND: "10000000", INGEST_POINTS_BURST: "10000000" },
  });
  const base = stack.url;
  try {
    await push(base, "line"); // warm-up is the first run's first seconds; measured runs follow
    const cost = parseCost();
    const line = await push(base, "line");
    const otlp = await push(base, "otlp");
    const prometheus = await push(base, "prometheus");
    const load = loadavg()
      .map((l) => l.toFixed(2))
      .join(", ");
    console.log(
      `machine: ${cpus().length} × ${cpus()[0]?.model}, load average ${load}; ${SECONDS} s per run, ${CONCURRENCY} requests in flight, ${BATCH} points per request`,
    );
    console.log("| path | points/s into one object | requests | failed | parse + map CPU per point |");
    console.log("|---|---:|---:|---:|---:|");
    console.log(
      `| line protocol, 5,000 lines | ${line.pointsPerSecond.toLocaleString("en")} | ${line.requests} | ${line.failures} | ${cost.line.toFixed(2)} µs |`,
    );
    console.log(
      `| OTLP protobuf, 5,000 points | ${otlp.pointsPerSecond.toLocaleString("en")} | ${otlp.requests} | ${otlp.failures} | ${cost.otlp.toFixed(2)} µs |`,
    );
    console.log(
      `| remote write, 5,000 samples (snappy) | ${prometheus.pointsPerSecond.toLocaleString("en")} | ${prometheus.requests} | ${prometheus.failures} | ${cost.prometheus.toFixed(2)} µs |`,
    );
  } finally {
    await stack.stop();
  }
}

await main();
