// OTLP/HTTP ingest: POST /api/dashboards/:id/otlp/v1/metrics and …/v1/logs, so an exporter
// configured with OTEL_EXPORTER_OTLP_ENDPOINT=https://<worker>/api/dashboards/<id>/otlp and
// OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer <INGEST_TOKEN> works as it is.
// Answers per the OTLP/HTTP spec: 200 with the Export…ServiceResponse in the request's encoding
// (partialSuccess naming what was rejected); errors carry a google.rpc.Status in the request's
// encoding (JSON for an unknown Content-Type): 400 undecodable, 413 too large, 415 unsupported
// type or encoding, 429 with Retry-After over the dashboard's rate. 401 is ingestAuth's JSON.
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Hono, type Context } from "hono";
import { LOG_LIMITS, type AttributeValue, type LogLine } from "../../contract/index.ts";
import type { AppEnv } from "../env.ts";
import { retryAfterSeconds } from "../errors.ts";
import { ingestAuth } from "../middleware/auth.ts";
import { readConfig } from "../../core/config/index.ts";
import { checkTime } from "../../core/ingest/samples.ts";
import { checkMessage, toLogLine } from "../../core/ingest/logs.ts";
import { readBody } from "../protocols/body.ts";
import { decodeOtlpLogs, decodeOtlpMetrics, otlpEncoding, otlpResponse, type OtlpEncoding } from "../protocols/otlp.ts";
import { ProtocolError, setOwn, type LogRecord } from "../protocols/points.ts";
import { MAX_REASONS } from "../../core/ingest/refusals.ts";
import { mapPoints } from "../ingest/mapping.ts";
import { dashboardStub } from "../stubs.ts";

/** google.rpc.Code values for the statuses this route answers with. */
const GRPC = { 400: 3, 413: 3, 415: 3, 429: 8 } as const;
const CONTENT_TYPE = { json: "application/json", protobuf: "application/x-protobuf" } as const;

/** A google.rpc.Status body: `{ code, message }` as JSON, or fields 1 (code) and 2 (message) as protobuf. */
function statusResponse(
  status: keyof typeof GRPC,
  encoding: OtlpEncoding,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const code = GRPC[status];
  const body = encoding === "json" ? JSON.stringify({ code, message }) : encodeStatus(code, message);
  return new Response(body, { status, headers: { "Content-Type": CONTENT_TYPE[encoding], ...headers } });
}

/** google.rpc.Status in protobuf: field 1 `code`, field 2 `message` (no details). */
function encodeStatus(code: number, message: string): Uint8Array {
  return new BinaryWriter().tag(1, WireType.Varint).int32(code).tag(2, WireType.LengthDelimited).string(message).finish();
}

function success(signal: "metrics" | "logs", encoding: OtlpEncoding, count: number, reasons: string[]): Response {
  return new Response(otlpResponse(signal, encoding, { count, reasons: reasons.slice(0, MAX_REASONS) }), {
    status: 200,
    headers: { "Content-Type": CONTENT_TYPE[encoding] },
  });
}

/** Content-Type and body, or the error answer. */
async function read(c: Context<AppEnv>): Promise<{ encoding: OtlpEncoding; body: Uint8Array } | Response> {
  const encoding = otlpEncoding(c.req.header("Content-Type"));
  if (!encoding) return statusResponse(415, "json", "Send OTLP as Content-Type: application/x-protobuf or application/json");
  try {
    return { encoding, body: await readBody(c.req.raw, c.req.header("Content-Encoding"), readConfig(c.env).otlpMaxBytes) };
  } catch (e) {
    return protocolError(e, encoding);
  }
}

function protocolError(e: unknown, encoding: OtlpEncoding): Response {
  if (!(e instanceof ProtocolError)) throw e;
  const status = e.code === "too_large" ? 413 : e.code === "unsupported_encoding" ? 415 : 400;
  return statusResponse(status, encoding, e.message);
}

function rateLimited(encoding: OtlpEncoding, retryAfterMs: number, what: string): Response {
  const seconds = retryAfterSeconds(retryAfterMs);
  return statusResponse(
    429,
    encoding,
    `This dashboard is over its ${what} rate; nothing of this request was published, retry in ${seconds} s`,
    { "Retry-After": String(seconds) },
  );
}

/** Mounted at /api/dashboards/:id/otlp. */
export const otlp = new Hono<AppEnv>()
  .post("/v1/metrics", ingestAuth, async (c) => {
    const input = await read(c);
    if (input instanceof Response) return input;
    const { encoding, body } = input;
    let decoded;
    try {
      decoded = decodeOtlpMetrics(body, encoding);
    } catch (e) {
      return protocolError(e, encoding);
    }
    const config = readConfig(c.env);
    const dashboard = c.get("dashboard");
    const mapped = mapPoints(dashboard, decoded.points, { now: Date.now(), retentionSeconds: config.retentionSeconds });
    if (mapped.accepted > config.pointRate.burst) {
      return statusResponse(
        413,
        encoding,
        `${mapped.accepted} points in one request; this dashboard takes at most ${config.pointRate.burst} at once (INGEST_POINTS_BURST)`,
      );
    }
    let refused = mapped.refused;
    if (mapped.batches.length > 0) {
      const result = await dashboardStub(c.env, dashboard.id).publishPoints({
        batches: mapped.batches,
        points: mapped.accepted,
        atomic: false,
      });
      if ("retryAfterMs" in result) return rateLimited(encoding, result.retryAfterMs, `point (${config.pointRate.perSecond}/s)`);
      refused = { count: refused.count + result.refused.count, reasons: [...refused.reasons, ...result.refused.reasons] };
    }
    const { unmatched } = mapped;
    const reasons = [...decoded.rejected.reasons, ...refused.reasons];
    if (unmatched.count > 0)
      reasons.unshift(`${unmatched.count} points matched no metric of dashboard "${dashboard.id}": ${unmatched.names.join(", ")}`);
    return success("metrics", encoding, decoded.rejected.count + refused.count + unmatched.count, reasons);
  })
  /** Log records become `log` lines through the log rules and rate of JSON log ingest. */
  .post("/v1/logs", ingestAuth, async (c) => {
    const input = await read(c);
    if (input instanceof Response) return input;
    const { encoding, body } = input;
    let decoded;
    try {
      decoded = decodeOtlpLogs(body, encoding);
    } catch (e) {
      return protocolError(e, encoding);
    }
    const config = readConfig(c.env);
    const now = Date.now();
    const lines: LogLine[] = [];
    const reasons = new Set(decoded.rejected.reasons);
    let rejected = decoded.rejected.count;
    for (const record of decoded.logs) {
      const line = toLine(record, config.retentionSeconds, now);
      if (typeof line === "string") {
        rejected++;
        if (reasons.size < MAX_REASONS) reasons.add(line);
      } else lines.push(line);
    }
    if (lines.length > config.logRate.burst) {
      return statusResponse(
        413,
        encoding,
        `${lines.length} log records in one request; this dashboard takes at most ${config.logRate.burst} at once (LOG_BURST)`,
      );
    }
    if (lines.length > 0) {
      const result = await dashboardStub(c.env, c.get("dashboard").id).publishLogs({ lines });
      if ("retryAfterMs" in result) return rateLimited(encoding, result.retryAfterMs, `log (${config.logRate.perSecond} lines/s)`);
    }
    return success("logs", encoding, rejected, [...reasons]);
  });

/**
 * An OTLP log record as a `log` line, or why it is rejected (no body, too long, out of the ingest
 * window). Attributes are fitted to the log limits rather than rejecting the line: at most the
 * last 32 (the record's own come last), long text cut, keys past the length limit dropped.
 */
function toLine(record: LogRecord, retentionSeconds: number, now: number): LogLine | string {
  const problem = checkMessage(record.message);
  if (problem) return `log record ${problem === "message: must not be empty" ? "without a body" : problem.replace("message:", "body:")}`;
  const timeMs = record.timeMs ?? now;
  const late = checkTime(timeMs, retentionSeconds, now);
  if (late) return `log record time ${late}`;
  const attributes: Record<string, AttributeValue> = {};
  for (const [key, value] of Object.entries(record.attributes).slice(-LOG_LIMITS.attributes)) {
    if (key.length === 0 || key.length > LOG_LIMITS.attributeKeyLength) continue;
    setOwn(
      attributes,
      key,
      typeof value === "string" && value.length > LOG_LIMITS.attributeValueLength ? value.slice(0, LOG_LIMITS.attributeValueLength) : value,
    );
  }
  return toLogLine(record.level, record.message, attributes, timeMs);
}
