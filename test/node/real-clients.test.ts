// Real clients through a real HTTP port of the Worker in workerd (wrangler dev): the OpenTelemetry
// JS SDK with the OTLP/HTTP JSON and protobuf metric exporters and the OTLP/HTTP logs exporter,
// and @influxdata/influxdb-client's WriteApi. Each asserts what arrives on the SSE stream
// (names, rounding, alerts, counter rates) and how a rejected point is reported.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InfluxDB, Point } from "@influxdata/influxdb-client";
import { diag, DiagLogLevel } from "@opentelemetry/api";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPMetricExporter as OTLPMetricExporterHttp } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as OTLPMetricExporterProto } from "@opentelemetry/exporter-metrics-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from "@opentelemetry/sdk-metrics";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INGEST_METRICS } from "../setup/dashboards.ts";
import { freePort } from "../../tools/free-port.ts";

const TOKEN = "real-clients-ingest-token-0123";
const DASHBOARDS = ["otel-json", "otel-proto", "influx", "otel-logs"].map((id) => ({
  id,
  name: id,
  simulate: false,
  metrics: INGEST_METRICS,
}));

let wrangler: ChildProcess;
let output = "";
let base = "";
let persist = "";
/** Every diag warning the OTel SDK logged (partial success is reported there). */
const warnings: string[] = [];

beforeAll(async () => {
  const port = await freePort();
  persist = await mkdtemp(join(tmpdir(), "rtd-real-clients-"));
  base = `http://127.0.0.1:${port}`;
  wrangler = spawn(
    "npx",
    [
      "wrangler",
      "dev",
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--inspector-port",
      String(await freePort()),
      "--persist-to",
      persist,
      "--var",
      `INGEST_TOKEN:${TOKEN}`,
      "--var",
      `DASHBOARDS:${JSON.stringify(DASHBOARDS)}`,
    ],
    { env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" }, detached: true },
  );
  wrangler.stdout!.on("data", (d: Buffer) => (output += d));
  wrangler.stderr!.on("data", (d: Buffer) => (output += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (Date.now() > deadline || wrangler.exitCode !== null) throw new Error(`wrangler dev did not start:\n${output.slice(-3000)}`);
    const ok = await fetch(`${base}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  diag.setLogger(
    {
      error: () => {},
      warn: (...a: unknown[]) => warnings.push(a.map(String).join(" ")),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  );
}, 90_000);

afterAll(async () => {
  if (wrangler?.pid) process.kill(-wrangler.pid, "SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  await rm(persist, { recursive: true, force: true });
});

/** Collects a dashboard's SSE events until `done` says enough (or the deadline passes). */
async function watch(
  dashboard: string,
  done: (events: { event: string; data: Record<string, unknown> }[]) => boolean,
  act: () => Promise<void>,
  timeoutMs = 15_000,
) {
  const source = new EventSource(`${base}/api/dashboards/${dashboard}/events?history=0&logs=debug`);
  const events: { event: string; data: Record<string, unknown> }[] = [];
  for (const name of ["metric-update", "alert", "log"]) {
    source.addEventListener(name, (e) => events.push({ event: name, data: JSON.parse(e.data) }));
  }
  try {
    await new Promise((r, j) => {
      source.addEventListener("open", r, { once: true });
      setTimeout(() => j(new Error("no stream")), 10_000);
    });
    await act();
    const deadline = Date.now() + timeoutMs;
    while (!done(events)) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(events)}\n${output.slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return events;
  } finally {
    source.close();
  }
}

/** Runs the SDK with a periodic reader: cpu gauges, a queue gauge, a counter and one unknown gauge. */
async function otelMetrics(dashboard: string, exporter: PushMetricExporter) {
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": "real-client-test" }),
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 300 })],
  });
  const meter = provider.getMeter("test");
  const cpu = meter.createGauge("system.cpu.utilization");
  cpu.record(0.9, { "system.cpu.logical_number": 0, "system.cpu.state": "user" });
  cpu.record(0.951, { "system.cpu.logical_number": 1, "system.cpu.state": "user" });
  meter.createGauge("queue_depth").record(612.4);
  meter.createGauge("not.on.this.dashboard").record(1);
  const requests = meter.createCounter("http.requests");
  const ticker = setInterval(() => requests.add(50), 50);
  try {
    const events = await watch(
      dashboard,
      (ev) =>
        ev.some((e) => typeof e.data.req_rate === "number" && (e.data.req_rate as number) > 0) &&
        ev.some((e) => e.event === "alert" && e.data.metric === "queue_depth"),
      async () => {},
    );
    const first = events.find((e) => e.event === "metric-update")!.data;
    expect(first).toMatchObject({ cpu: 92.6, queue_depth: 612 });
    expect(events.filter((e) => e.event === "alert").map((e) => [e.data.metric, e.data.level])).toEqual(
      expect.arrayContaining([
        ["cpu", "critical"],
        ["queue_depth", "critical"],
      ]),
    );
    // ~1000 requests/s added; the rate is whatever the counter's slope was between two exports.
    const rate = events.find((e) => typeof e.data.req_rate === "number" && (e.data.req_rate as number) > 0)!.data.req_rate as number;
    expect(rate).toBeGreaterThan(200);
    expect(rate).toBeLessThan(3000);
    expect(Math.round(rate * 10) / 10).toBe(rate);
  } finally {
    clearInterval(ticker);
    await provider.shutdown();
  }
  expect(warnings.join("\n")).toMatch(/Partial Success.*rejectedDataPoints.*not\.on\.this\.dashboard/);
}

describe("real clients into wrangler dev", () => {
  it("OTel SDK → @opentelemetry/exporter-metrics-otlp-http (JSON)", async () => {
    await otelMetrics(
      "otel-json",
      new OTLPMetricExporterHttp({
        url: `${base}/api/dashboards/otel-json/otlp/v1/metrics`,
        headers: { Authorization: `Bearer ${TOKEN}` },
      }),
    );
  }, 30_000);

  it("OTel SDK → @opentelemetry/exporter-metrics-otlp-proto, configured by OTEL_EXPORTER_OTLP_ENDPOINT/HEADERS", async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `${base}/api/dashboards/otel-proto/otlp`;
    process.env.OTEL_EXPORTER_OTLP_HEADERS = `Authorization=Bearer ${TOKEN}`;
    process.env.OTEL_EXPORTER_OTLP_COMPRESSION = "gzip";
    try {
      warnings.length = 0;
      await otelMetrics("otel-proto", new OTLPMetricExporterProto());
    } finally {
      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      delete process.env.OTEL_EXPORTER_OTLP_HEADERS;
      delete process.env.OTEL_EXPORTER_OTLP_COMPRESSION;
    }
  }, 30_000);

  it("OTel SDK → @opentelemetry/exporter-logs-otlp-http", async () => {
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ "service.name": "real-client-test" }),
      processors: [
        new SimpleLogRecordProcessor({
          exporter: new OTLPLogExporter({
            url: `${base}/api/dashboards/otel-logs/otlp/v1/logs`,
            headers: { Authorization: `Bearer ${TOKEN}` },
          }),
        }),
      ],
    });
    const events = await watch(
      "otel-logs",
      (ev) => ev.filter((e) => e.event === "log").length >= 2,
      async () => {
        const logger = provider.getLogger("test");
        logger.emit({ severityNumber: 17, severityText: "ERROR", body: "payment failed", attributes: { order: 7 } });
        logger.emit({ severityNumber: 5, body: "cache miss" });
        await provider.forceFlush();
      },
    );
    await provider.shutdown();
    // SimpleLogRecordProcessor exports each record in its own request: they may land in either order.
    const logs = events.filter((e) => e.event === "log");
    expect(logs.map((e) => [e.data.level, e.data.message]).sort()).toEqual([
      ["debug", "cache miss"],
      ["error", "payment failed"],
    ]);
    expect(logs.find((e) => e.data.level === "error")!.data.attributes).toMatchObject({ order: 7, "service.name": "real-client-test" });
  }, 30_000);

  it("@influxdata/influxdb-client WriteApi → /api/v2/write; a rejected point is InfluxDB's 400", async () => {
    const influx = new InfluxDB({ url: base, token: TOKEN });
    const t = new Date(Math.floor(Date.now() / 1000) * 1000 - 5000);
    const events = await watch(
      "influx",
      (ev) => ev.some((e) => e.event === "alert"),
      async () => {
        const api = influx.getWriteApi("any-org", "influx", "ms");
        api.writePoint(
          new Point("disk").tag("path", "/").tag("host", "h1").floatField("used_percent", 91.26).intField("free", 3).timestamp(t),
        );
        api.writePoint(new Point("mem").tag("host", "a").floatField("used_percent", 40.456).timestamp(t));
        api.writePoint(new Point("cpu").tag("cpu", "cpu0").floatField("usage_user", 3).timestamp(t)); // no metric: ignored
        await api.close();
      },
    );
    expect(events[0]).toEqual({ event: "metric-update", data: { mem: 40.46, disk: 91.3, timestamp: t.toISOString() } });
    expect(events[1]).toMatchObject({ event: "alert", data: { level: "critical", metric: "disk", value: 91.3 } });

    const api = influx.getWriteApi("any-org", "influx", "ms", { maxRetries: 0 });
    api.writePoint(new Point("mem").tag("host", "a").floatField("used_percent", 20));
    api.writePoint(new Point("disk").tag("path", "/").floatField("used_percent", 150));
    const error = await api.close().then(
      () => null,
      (e: unknown) => e as { statusCode: number; body: string },
    );
    expect(error?.statusCode).toBe(400);
    expect(JSON.parse(error!.body)).toMatchObject({
      code: "invalid",
      message: expect.stringMatching(/^at line 2: metric "disk".*150 is above the maximum 100/),
    });
  }, 30_000);
});
