// The host's CPU, memory, load and network as OpenTelemetry metrics, exported over OTLP/HTTP
// (protobuf, what the Collector's otlphttp exporter sends) to one dashboard's ingest route.
// Everything is the OpenTelemetry JS SDK: @opentelemetry/host-metrics observes CPU, memory and
// network; load average, which it does not cover, is an observable gauge on the same meter,
// under the names the Collector's hostmetrics receiver uses.
import { loadavg, hostname } from "node:os";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { CompressionAlgorithm } from "@opentelemetry/otlp-exporter-base";
import { HostMetrics } from "@opentelemetry/host-metrics";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter, type ResourceMetrics } from "@opentelemetry/sdk-metrics";

export interface AgentOptions {
  /** The Worker's origin, e.g. https://realtime-dashboard.example.workers.dev */
  url: string;
  dashboard: string;
  /** INGEST_TOKEN, sent as `Authorization: Bearer …`. */
  token: string;
  /** How often to collect and export, in ms. */
  intervalMs?: number;
  /** Where status lines go (one per failed export, one when exports work again). */
  log?: (line: string) => void;
}

export interface Agent {
  endpoint: string;
  /** Exports what was collected since the last export, then stops. */
  stop: () => Promise<void>;
}

export const DASHBOARD_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** The series the agent adds beside host-metrics': the Collector hostmetrics receiver's names. */
export const LOAD_METRICS = ["system.cpu.load_average.1m", "system.cpu.load_average.5m", "system.cpu.load_average.15m"] as const;

export function otlpMetricsEndpoint(url: string, dashboard: string): string {
  return `${url.replace(/\/+$/, "")}/api/dashboards/${encodeURIComponent(dashboard)}/otlp/v1/metrics`;
}

export function startAgent(options: AgentOptions): Agent {
  const intervalMs = options.intervalMs ?? 1000;
  const log = options.log ?? ((line: string) => console.error(line));
  const endpoint = otlpMetricsEndpoint(options.url, options.dashboard);
  const exporter = withStatus(
    new OTLPMetricExporter({
      url: endpoint,
      headers: { Authorization: `Bearer ${options.token}` },
      compression: CompressionAlgorithm.GZIP,
      // A slow answer is not a failure; meanwhile withStatus() skips exports (see there).
      timeoutMillis: 10_000,
    }),
    log,
  );
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": "realtime-dashboard-agent", "host.name": hostname() }),
    readers: [
      new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: intervalMs, exportTimeoutMillis: Math.max(1000, intervalMs) }),
    ],
  });
  // Process metrics are about the agent itself, not the host: left out.
  new HostMetrics({
    meterProvider: provider,
    name: "realtime-dashboard-agent",
    metricGroups: ["system.cpu", "system.memory", "system.network"],
  }).start();
  const meter = provider.getMeter("realtime-dashboard-agent");
  const gauges = LOAD_METRICS.map((name) =>
    meter.createObservableGauge(name, { description: `Load average over ${name.split(".").pop()}`, unit: "{thread}" }),
  );
  meter.addBatchObservableCallback((result) => {
    const averages = loadavg(); // [0, 0, 0] where the OS has none (Windows)
    gauges.forEach((gauge, i) => result.observe(gauge, averages[i]!));
  }, gauges);

  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    // shutdown() collects and exports once more before it returns.
    stop: () => (stopped ??= provider.shutdown()),
  };
}

/**
 * Passes exports through, one at a time, and says when one fails, and when they work again;
 * successes stay quiet. The reader stops waiting for an export after one interval and starts the
 * next, so on a slow Worker requests would pile up: while one is in flight, the next collections
 * are skipped instead (cumulative counters lose nothing; a gauge misses those samples).
 */
function withStatus(inner: PushMetricExporter, log: (line: string) => void): PushMetricExporter {
  let failures = 0;
  let inFlight = false;
  let skipped = 0;
  return {
    export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
      if (inFlight) {
        skipped++;
        done({ code: ExportResultCode.SUCCESS });
        return;
      }
      inFlight = true;
      const started = Date.now();
      inner.export(metrics, (result) => {
        inFlight = false;
        if (skipped > 0) log(`${stamp()} slow export (${((Date.now() - started) / 1000).toFixed(1)} s): ${skipped} skipped meanwhile`);
        skipped = 0;
        if (result.code === ExportResultCode.SUCCESS) {
          if (failures > 0) log(`${stamp()} export ok again after ${failures} failed`);
          failures = 0;
        } else {
          failures++;
          log(`${stamp()} export failed: ${describe(result.error)}`);
        }
        done(result);
      });
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    selectAggregationTemporality: inner.selectAggregationTemporality?.bind(inner),
    selectAggregation: inner.selectAggregation?.bind(inner),
  };
}

const stamp = () => new Date().toISOString().slice(11, 19);

/** One line: the HTTP status and the start of the body when there is one (OTLPExporterError). */
function describe(error: Error | undefined): string {
  if (!error) return "unknown error";
  const { code, data } = error as Error & { code?: number; data?: string };
  const body = typeof data === "string" && data ? ` ${data.replace(/\s+/g, " ").slice(0, 200)}` : "";
  const cause = (error as Error & { cause?: { code?: string } }).cause?.code;
  if (typeof code === "number") return `HTTP ${code}${body}`;
  return `${error.message}${cause ? ` (${cause})` : ""}`;
}
