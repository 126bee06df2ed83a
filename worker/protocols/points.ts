// Neutral records that the protocol decoders (OTLP, InfluxDB line protocol) produce. They carry
// no dashboard semantics: the ingest route maps them onto its own metric model, stamps records
// without a time with "now" and decides which times are too old or too far ahead.

import type { AttributeValue, LogLevel } from "../../contract/index.ts";
import type { Refused } from "../../core/ingest/refusals.ts";

export type Attributes = Record<string, AttributeValue>;

/** One number at one time: an OTLP gauge/sum data point or one numeric line-protocol field. */
export interface Point {
  name: string;
  /**
   * Resource, scope and data-point attributes merged (the data point wins), or line-protocol
   * tags. Read-only: the points of one line-protocol line share one frozen object.
   */
  attributes: Attributes;
  /** Milliseconds since the epoch (whole ms); undefined when the sender gave none (or 0): stamp it "now". */
  timeMs: number | undefined;
  value: number;
  kind: "gauge" | "sum";
  /** OTLP sums only. */
  monotonic?: boolean;
  /** OTLP sums only; absent when the sender left it unspecified. */
  temporality?: "cumulative" | "delta";
  /** OTLP start_time_unix_nano in ms, when given. */
  startTimeMs?: number;
  /** OTLP metric unit (UCUM, e.g. "ms", "By", "1"), when given. */
  unit?: string;
}

export interface PointsResult {
  points: Point[];
  rejected: Refused;
}

export interface LogRecord {
  /** Milliseconds since the epoch; undefined when neither time nor observed time was given. */
  timeMs: number | undefined;
  level: LogLevel;
  message: string;
  /** Resource, scope and record attributes merged (the record wins), plus trace_id/span_id in hex. */
  attributes: Attributes;
}

export interface LogsResult {
  logs: LogRecord[];
  rejected: Refused;
}

/** obj[key] = value, where a key "__proto__" (senders choose keys) is an own property too. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/**
 * The body cannot be decoded (syntax, types, ranges) or was sent in a way this server does not
 * take. The route answers 400 with `message`, or 415 for code "unsupported_encoding".
 */
export class ProtocolError extends Error {
  override readonly name: string = "ProtocolError";
  readonly code: "invalid" | "unsupported_encoding" | "too_large";
  constructor(message: string, code: ProtocolError["code"] = "invalid") {
    super(message);
    this.code = code;
  }
}

/** The (decompressed) body is larger than the route allows: answer 413. */
export class TooLarge extends ProtocolError {
  override readonly name = "TooLarge";
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super(`body exceeds ${limitBytes} bytes`, "too_large");
    this.limitBytes = limitBytes;
  }
}
