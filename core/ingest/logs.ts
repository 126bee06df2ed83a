// The log ingest rules: what an application may push as log lines. JSON ingest uses them
// directly; OTLP logs are mapped to the same shape first, so every line is checked here.
import { isLogLevel, LOG_LEVELS, LOG_LIMITS, type AttributeValue, type LogLine } from "../../contract/index.ts";
import { parseTimestamp, type Checked } from "./samples.ts";

export const MAX_LOG_BYTES = 1024 * 1024;
const encoder = new TextEncoder();
const LINE_KEYS = new Set(["timestamp", "level", "message", "attributes"]);

/** A flat object of at most 32 text/number/boolean values; else what is wrong with it. */
export function checkAttributes(raw: unknown): Checked<Record<string, AttributeValue> | undefined> {
  if (raw === undefined) return { ok: undefined };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return { error: "attributes: must be an object of text, number or boolean values" };
  const entries = Object.entries(raw);
  if (entries.length > LOG_LIMITS.attributes)
    return { error: `attributes: ${entries.length} attributes; at most ${LOG_LIMITS.attributes}` };
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > LOG_LIMITS.attributeKeyLength)
      return { error: `attributes: keys must be 1–${LOG_LIMITS.attributeKeyLength} characters` };
    if (typeof value === "string") {
      if (value.length > LOG_LIMITS.attributeValueLength)
        return { error: `attributes.${key}: text longer than ${LOG_LIMITS.attributeValueLength} characters` };
    } else if (typeof value === "number") {
      if (!Number.isFinite(value)) return { error: `attributes.${key}: must be a finite number` };
    } else if (typeof value !== "boolean") {
      return { error: `attributes.${key}: must be text, a number or a boolean (attributes are flat)` };
    }
  }
  return { ok: raw as Record<string, AttributeValue> };
}

/** Checks one line's message; null when it may be published. */
export function checkMessage(message: unknown): string | null {
  if (typeof message !== "string") return "message: must be text";
  if (message.length === 0) return "message: must not be empty";
  // Cheap bound first: a UTF-16 unit is at most 3 UTF-8 bytes.
  if (message.length * 3 > LOG_LIMITS.messageBytes && encoder.encode(message).byteLength > LOG_LIMITS.messageBytes) {
    return `message: longer than ${LOG_LIMITS.messageBytes / 1024} KB of UTF-8`;
  }
  return null;
}

/** One JSON log line: `{ timestamp?, level, message, attributes? }`. */
export function parseLogLine(item: unknown, retentionSeconds: number, now: number): Checked<LogLine> {
  if (typeof item !== "object" || item === null || Array.isArray(item))
    return { error: 'line: must be an object like {"level": "info", "message": "…"}' };
  const line = item as Record<string, unknown>;
  for (const key of Object.keys(line))
    if (!LINE_KEYS.has(key)) return { error: `${key}: unknown field (known: ${[...LINE_KEYS].join(", ")})` };
  if (!isLogLevel(line.level))
    return { error: `level: must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(line.level) ?? "nothing"}` };
  const problem = checkMessage(line.message);
  if (problem) return { error: problem };
  const attributes = checkAttributes(line.attributes);
  if ("error" in attributes) return attributes;
  const time = parseTimestamp(line.timestamp, retentionSeconds, now);
  if ("error" in time) return time;
  return { ok: toLogLine(line.level, line.message as string, attributes.ok, time.ok) };
}

/** The `log` payload, fields in wire order (no `attributes` when there are none). */
export function toLogLine(
  level: LogLine["level"],
  message: string,
  attributes: Record<string, AttributeValue> | undefined,
  timeMs: number,
): LogLine {
  const timestamp = new Date(timeMs).toISOString();
  return attributes && Object.keys(attributes).length > 0 ? { level, message, attributes, timestamp } : { level, message, timestamp };
}

/** One line or an array of up to 500; the error names the line and the field. */
export function parseLogBody(body: unknown, retentionSeconds: number, now: number): { lines: LogLine[] } | { error: string } {
  const list = Array.isArray(body) ? body : [body];
  if (list.length === 0) return { error: `the body is an empty array; send one line or up to ${LOG_LIMITS.lines}` };
  if (list.length > LOG_LIMITS.lines) return { error: `${list.length} lines in one request; send at most ${LOG_LIMITS.lines}` };
  const lines: LogLine[] = [];
  for (const [i, item] of list.entries()) {
    const result = parseLogLine(item, retentionSeconds, now);
    if ("error" in result) return { error: Array.isArray(body) ? `[${i}].${result.error}` : result.error };
    lines.push(result.ok);
  }
  return { lines };
}
