// OTLP/HTTP metrics and logs (ExportMetricsServiceRequest, ExportLogsServiceRequest) in both of
// the spec's encodings, application/x-protobuf and application/json, into neutral records.
// Decoding is @bufbuild/protobuf with code generated from the official .proto files (gen/,
// `npm run gen:proto`); this module only walks the decoded messages.
import { create, fromBinary, fromJson, toBinary, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import {
  ExportLogsServiceRequestSchema,
  ExportLogsServiceResponseSchema,
} from "./gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.ts";
import {
  ExportMetricsServiceRequestSchema,
  ExportMetricsServiceResponseSchema,
} from "./gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.ts";
import type { AnyValue, KeyValue } from "./gen/opentelemetry/proto/common/v1/common_pb.ts";
import type { NumberDataPoint } from "./gen/opentelemetry/proto/metrics/v1/metrics_pb.ts";
import type { AttributeValue, LogLevel } from "../../contract/index.ts";
import { Refusals } from "../../core/ingest/refusals.ts";
import { ProtocolError, setOwn, type Attributes, type LogRecord, type LogsResult, type Point, type PointsResult } from "./points.ts";

export type OtlpEncoding = "protobuf" | "json";

/** The encoding a Content-Type names, or undefined (answer 415). Parameters such as charset are ignored. */
export function otlpEncoding(contentType: string | null | undefined): OtlpEncoding | undefined {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/x-protobuf" || type === "application/protobuf") return "protobuf";
  if (type === "application/json") return "json";
  return undefined;
}

/**
 * Gauges and sums become points; histograms, exponential histograms and summaries (not shown by
 * this product), NaN values, points flagged NO_RECORDED_VALUE and points without a value are
 * counted as rejected. Integers beyond 2^53 lose precision (they do not throw). Any other
 * malformation, including an infinite value, throws ProtocolError.
 */
export function decodeOtlpMetrics(body: Uint8Array | string, encoding: OtlpEncoding): PointsResult {
  const request = decode(ExportMetricsServiceRequestSchema, body, encoding, []);
  const points: Point[] = [];
  const rejected = new Refusals();
  for (const rm of request.resourceMetrics) {
    const resourceAttrs = attributes(rm.resource?.attributes, {});
    for (const sm of rm.scopeMetrics) {
      const scopeAttrs = attributes(sm.scope?.attributes, resourceAttrs);
      for (const metric of sm.metrics) {
        const { name, data } = metric;
        if (data.case === "gauge" || data.case === "sum") {
          const base: Omit<Point, "attributes" | "timeMs" | "value"> = { name, kind: data.case };
          if (data.case === "sum") {
            base.monotonic = data.value.isMonotonic;
            const t = data.value.aggregationTemporality; // 1 delta, 2 cumulative, 0 unspecified
            if (t === 1) base.temporality = "delta";
            else if (t === 2) base.temporality = "cumulative";
          }
          if (metric.unit !== "") base.unit = metric.unit;
          for (const dp of data.value.dataPoints) {
            const reason = name === "" ? "metric without a name" : rejectReason(dp, name);
            if (reason !== undefined) {
              rejected.add(reason);
              continue;
            }
            const value = dp.value.case === "asInt" ? Number(dp.value.value) : dp.value.value!;
            const point: Point = { ...base, attributes: attributes(dp.attributes, scopeAttrs), timeMs: toMs(dp.timeUnixNano), value };
            const start = toMs(dp.startTimeUnixNano);
            if (start !== undefined) point.startTimeMs = start;
            points.push(point);
          }
        } else if (data.case === undefined) {
          rejected.add(`metric "${name}" without data`);
        } else {
          const kind = data.case === "exponentialHistogram" ? "exponential histogram" : data.case;
          rejected.add(`${kind} "${name}" (not supported)`, Math.max(1, data.value.dataPoints.length));
        }
      }
    }
  }
  return { points, rejected: rejected.result() };
}

function rejectReason(dp: NumberDataPoint, name: string): string | undefined {
  if ((dp.flags & 1) === 1) return `"${name}": no recorded value`;
  if (dp.value.case === undefined) return `"${name}": data point without a value`;
  if (dp.value.case === "asDouble") {
    const v = dp.value.value;
    if (Number.isNaN(v)) return `"${name}": NaN value`;
    if (!Number.isFinite(v)) throw new ProtocolError(`metric "${name}": value ${v} is not finite`);
  }
  return undefined;
}

/** Severity by OTLP severityNumber range; when unspecified, severityText if it names a level; else info. */
export function decodeOtlpLogs(body: Uint8Array | string, encoding: OtlpEncoding): LogsResult {
  const request = decode(ExportLogsServiceRequestSchema, body, encoding, ["resourceLogs", "scopeLogs", "logRecords"]);
  const logs: LogRecord[] = [];
  for (const rl of request.resourceLogs) {
    const resourceAttrs = attributes(rl.resource?.attributes, {});
    for (const sl of rl.scopeLogs) {
      const scopeAttrs = attributes(sl.scope?.attributes, resourceAttrs);
      for (const r of sl.logRecords) {
        const attrs = attributes(r.attributes, scopeAttrs);
        if (r.traceId.length > 0) attrs.trace_id = hex(r.traceId);
        if (r.spanId.length > 0) attrs.span_id = hex(r.spanId);
        const body = r.body === undefined ? undefined : plain(r.body, 0);
        logs.push({
          timeMs: toMs(r.timeUnixNano) ?? toMs(r.observedTimeUnixNano),
          level: level(r.severityNumber, r.severityText),
          message: body == null ? "" : typeof body === "string" ? body : JSON.stringify(body),
          attributes: attrs,
        });
      }
    }
  }
  return { logs, rejected: { count: 0, reasons: [] } };
}

const LEVELS: LogLevel[] = ["debug", "debug", "info", "warn", "error", "fatal"];
const TEXT_LEVELS: Record<string, LogLevel> = {
  trace: "debug",
  debug: "debug",
  info: "info",
  information: "info",
  notice: "info",
  warn: "warn",
  warning: "warn",
  error: "error",
  err: "error",
  fatal: "fatal",
  critical: "fatal",
  crit: "fatal",
};

function level(severity: number, text: string): LogLevel {
  if (severity >= 1) return LEVELS[Math.min(5, Math.floor((severity - 1) / 4))]!; // beyond 24: fatal
  return TEXT_LEVELS[text.trim().toLowerCase()] ?? "info";
}

/**
 * The response body OTLP/HTTP expects on success, in the request's encoding: empty, or a partial
 * success naming how many points/records were rejected and why.
 */
export function otlpResponse(
  signal: "metrics" | "logs",
  encoding: OtlpEncoding,
  rejected: { count: number; reasons: string[] },
): Uint8Array | string {
  const partial = rejected.count > 0 ? { errorMessage: rejected.reasons.join("; ") } : undefined;
  if (encoding === "json") {
    if (partial === undefined) return "{}";
    const key = signal === "metrics" ? "rejectedDataPoints" : "rejectedLogRecords";
    return JSON.stringify({ partialSuccess: { [key]: String(rejected.count), ...partial } });
  }
  if (signal === "metrics") {
    const ps = partial && { rejectedDataPoints: BigInt(rejected.count), ...partial };
    return toBinary(ExportMetricsServiceResponseSchema, create(ExportMetricsServiceResponseSchema, { partialSuccess: ps }));
  }
  const ps = partial && { rejectedLogRecords: BigInt(rejected.count), ...partial };
  return toBinary(ExportLogsServiceResponseSchema, create(ExportLogsServiceResponseSchema, { partialSuccess: ps }));
}

// --- decoding -------------------------------------------------------------------------------

function decode<D extends DescMessage>(schema: D, body: Uint8Array | string, encoding: OtlpEncoding, logPath: string[]): MessageShape<D> {
  try {
    if (encoding === "protobuf") {
      const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
      return fromBinary(schema, bytes, { readUnknownFields: false });
    }
    const text = typeof body === "string" ? body : new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
    const json = JSON.parse(text) as JsonValue;
    if (logPath.length > 0) hexIdsToBase64(json, logPath);
    // The spec asks receivers to ignore unknown fields; enums may come as ints or names.
    return fromJson(schema, json, { ignoreUnknownFields: true });
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    const what = encoding === "protobuf" ? "OTLP protobuf" : "OTLP JSON";
    throw new ProtocolError(`invalid ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * OTLP JSON writes trace and span ids as hex, not as proto3 JSON's base64; rewrite them in place
 * on log records before the standard mapping reads them. (Exemplar ids in metrics are not read.)
 */
function hexIdsToBase64(json: JsonValue, path: string[]): void {
  let level: JsonValue[] = [json];
  for (const key of path) {
    const next: JsonValue[] = [];
    for (const obj of level) {
      const list = isObject(obj) ? obj[key] : undefined;
      if (Array.isArray(list)) next.push(...list);
    }
    level = next;
  }
  for (const record of level) {
    if (!isObject(record)) continue;
    for (const key of ["traceId", "trace_id", "spanId", "span_id"]) {
      const id = record[key];
      if (typeof id !== "string") continue;
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(id)) throw new ProtocolError(`invalid OTLP JSON: ${key} "${id.slice(0, 40)}" is not hex`);
      const bytes = new Uint8Array(id.length / 2);
      for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(id.slice(2 * i, 2 * i + 2), 16);
      record[key] = base64Encode(bytes);
    }
  }
}

function isObject(v: JsonValue | undefined): v is { [k: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// --- values ---------------------------------------------------------------------------------

/** 0 (or absent) means "not given"; every uint64 of ns fits a Date, so no range check is needed. */
function toMs(ns: bigint): number | undefined {
  return ns === 0n ? undefined : Number(ns / 1_000_000n);
}

/** Copies `base`, then adds the key-values (later keys win); non-scalar values become JSON text. */
function attributes(kvs: KeyValue[] | undefined, base: Attributes): Attributes {
  const out: Attributes = { ...base };
  if (kvs === undefined) return out;
  for (const kv of kvs) {
    if (kv.value === undefined || kv.value.value.case === undefined) continue;
    const v = plain(kv.value, 0);
    setOwn(out, kv.key, typeof v === "object" && v !== null ? JSON.stringify(v) : (v ?? ""));
  }
  return out;
}

type Plain = AttributeValue | null | Plain[] | { [k: string]: Plain };
const MAX_DEPTH = 16;

/** An AnyValue as a JSON-able value: ints beyond 2^53 and non-finite doubles as strings, bytes as base64. */
function plain(v: AnyValue, depth: number): Plain {
  const { case: c, value } = v.value;
  switch (c) {
    case "stringValue":
    case "boolValue":
      return value;
    case "intValue": {
      const n = Number(value);
      return Number.isSafeInteger(n) ? n : value.toString();
    }
    case "doubleValue":
      return Number.isFinite(value) ? value : String(value);
    case "bytesValue":
      return base64Encode(value);
    case "arrayValue":
      return depth >= MAX_DEPTH ? "…" : value.values.map((x) => plain(x, depth + 1));
    case "kvlistValue": {
      if (depth >= MAX_DEPTH) return "…";
      const o: { [k: string]: Plain } = {};
      for (const kv of value.values) setOwn(o, kv.key, kv.value === undefined ? null : plain(kv.value, depth + 1));
      return o;
    }
    default:
      return null; // empty, or a dictionary index (profiles only)
  }
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += (b < 16 ? "0" : "") + b.toString(16);
  return s;
}
