// `npm run bench:ingest [-- --seconds 10]`: points per second one dashboard object accepts through
// InfluxDB line protocol (batches of 5,000 lines), OTLP protobuf (5,000 data points) and
// Prometheus remote write (5,000 samples, snappy), end to end through `wrangler dev` (local
// workerd, default SQLite event log), plus the parse + mapping CPU per point measured in this
// process with the Worker's own modules (same V8 as workerd). Then OTLP again into a dashboard
// of split metrics (`source.by`): 32 metrics × 20 series each (640 values a sample).
// Separate from bench/run.ts on purpose (own wrangler dev, own dashboard, no viewers).
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { compress } from "snappyjs";
import { defineMetrics, type DashboardDef } from "../contract/index.ts";
import { ExportMetricsServiceResponseSchema } from "../worker/protocols/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.ts";
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
/** Split metrics: each of 32 metrics has 20 series (hosts), so a sample carries 640 series values and 32 aggregates. */
const HOSTS = 20;
const splitMetrics = Array.from({ length: SERIES }, (_, k) => ({
  name: `m${k}`,
  decimals: 2,
  min: 0,
  max: 100,
  warning: 80,
  critical: 95,
  source: { name: "bench_split", attributes: { series: `s${k}` }, by: "host" },
}));
const SPLIT_DASHBOARD = { id: "ingest-bench-split", name: "Ingest bench, split", simulate: false, metrics: splitMetrics };

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

/** OTLP for the split dashboard: every point a (metric, host) pair; 640 points share a time. */
function otlpSplitBatch(): Uint8Array {
  const dataPoints = [];
  for (let i = 0; i < BATCH; i++) {
    if (i % (SERIES * HOSTS) === 0) clock++;
    const attr = (key: string, value: string) => ({ key, value: { value: { case: "stringValue" as const, value } } });
    dataPoints.push({
      timeUnixNano: BigInt(clock) * 1_000_000n,
      value: { case: "asDouble" as const, value: (i % 800) / 10 },
      attributes: [attr("series", `s${i % SERIES}`), attr("host", `h${Math.floor(i / SERIES) % HOSTS}`)],
    });
  }
  const metric = { name: "bench_split", data: { case: "gauge" as const, value: { dataPoints } } };
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
function parseCost(): { line: number; otlp: number; prometheus: number; split: number } {
  const def = {
    ...DASHBOARD,
    seed: false,
    checks: [],
    metrics: defineMetrics(DASHBOARD.id, metrics),
  } as DashboardDef;
  const splitDef = {
    ...SPLIT_DASHBOARD,
    seed: false,
    checks: [],
    metrics: defineMetrics(SPLIT_DASHBOARD.id, splitMetrics),
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
  const split = otlpSplitBatch();
  return {
    split: best(() => mapPoints(splitDef, decodeOtlpMetrics(split, "protobuf").points, opts())),
    line: best(() => mapPoints(def, parseLineProtocol(text, "ms").points, opts())),
    otlp: best(() => mapPoints(def, decodeOtlpMetrics(bytes, "protobuf").points, opts())),
    prometheus: best(() => mapPoints(def, decodeRemoteWrite(block, 4 * 1024 * 1024).points, opts())),
  };
}

/** Points an OTLP answer says it refused (partialSuccess). */
function otlpRejected(body: Uint8Array): number {
  return Number(fromBinary(ExportMetricsServiceResponseSchema, body).partialSuccess?.rejectedDataPoints ?? 0n);
}

type Kind = "line" | "otlp" | "prometheus" | "split";

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
  if (kind === "split") return [`${base}/api/dashboards/${SPLIT_DASHBOARD.id}/otlp/v1/metrics`, otlpSplitBatch(), bearer, 200];
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
        // OTLP answers 200 with partialSuccess for what it refused: those points did not count.
        const refused =
          kind === "otlp" || kind === "split" ? otlpRejected(new Uint8Array(await r.arrayBuffer())) : (await r.arrayBuffer(), 0);
        requests++;
        if (r.status === ok && refused === 0) points += BATCH;
        else if (failures++ === 0) console.error(`${kind}: ${r.status}, ${refused} refused`);
      }
    }),
  );
  return { pointsPerSecond: Math.round(points / ((Date.now() - started) / 1000)), requests, failures };
}

async function main() {
  // The objects' own SQLite log, as a default deployment; the rate limit out of the way.
  const stack = await Stack.start({
    log: "sqlite",
    vars: {
      DASHBOARDS: JSON.stringify([DASHBOARD, SPLIT_DASHBOARD]),
      INGEST_POINTS_PER_SECOND: "10000000",
      INGEST_POINTS_BURST: "10000000",
    },
  });
  const base = stack.url;
  try {
    await push(base, "line"); // warm-up is the first run's first seconds; measured runs follow
    const cost = parseCost();
    const line = await push(base, "line");
    const otlp = await push(base, "otlp");
    const prometheus = await push(base, "prometheus");
    const split = await push(base, "split");
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
    console.log(
      `| OTLP protobuf, 5,000 points, 32 metrics × 20 series | ${split.pointsPerSecond.toLocaleString("en")} | ${split.requests} | ${split.failures} | ${cost.split.toFixed(2)} µs |`,
    );
  } finally {
    await stack.stop();
  }
}

await main();
