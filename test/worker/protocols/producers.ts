// Real OpenTelemetry producers for the decoder tests: the JS SDK's metrics and logs pipelines and
// the OTLP serializers its exporters use, run inside workerd (no fixtures needed).
import { ROOT_CONTEXT, trace, TraceFlags, type Meter } from "@opentelemetry/api";
import type { LogRecord as ApiLogRecord } from "@opentelemetry/api-logs";
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
} from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { AggregationTemporality, MeterProvider, MetricReader, type ViewOptions } from "@opentelemetry/sdk-metrics";

class CollectingReader extends MetricReader {
  protected override async onShutdown() {}
  protected override async onForceFlush() {}
}

export interface Encoded {
  protobuf: Uint8Array;
  json: Uint8Array;
}

/** Records through a real MeterProvider, collects once, serializes as the OTLP/HTTP exporters do. */
export async function sdkMetrics(
  record: (meter: Meter) => void,
  opts: { resource?: Record<string, string | number | boolean>; delta?: boolean; views?: ViewOptions[] } = {},
): Promise<Encoded> {
  const reader = new CollectingReader(opts.delta ? { aggregationTemporalitySelector: () => AggregationTemporality.DELTA } : {});
  const provider = new MeterProvider({
    resource: resourceFromAttributes(opts.resource ?? { "service.name": "checkout" }),
    readers: [reader],
    views: opts.views ?? [],
  });
  record(provider.getMeter("test-meter", "1.2.3"));
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length > 0) throw errors[0];
  await provider.shutdown();
  return {
    protobuf: ProtobufMetricsSerializer.serializeRequest(resourceMetrics)!,
    json: JsonMetricsSerializer.serializeRequest(resourceMetrics)!,
  };
}

export const TRACE_ID = "5b8efff798038103d269b633813fc60c";
export const SPAN_ID = "eee19b7ec3c1b174";
/** A context carrying a sampled span, so emitted records get trace and span ids. */
export const spanContext = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });

/** Emits through a real LoggerProvider and serializes what it exported. */
export async function sdkLogs(
  records: ApiLogRecord[],
  resource: Record<string, string> = { "service.name": "checkout" },
): Promise<Encoded> {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(resource),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger("test-logger");
  for (const r of records) logger.emit(r);
  await provider.forceFlush();
  const finished = exporter.getFinishedLogRecords();
  return {
    protobuf: ProtobufLogsSerializer.serializeRequest(finished)!,
    json: JsonLogsSerializer.serializeRequest(finished)!,
  };
}
