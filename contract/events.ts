// The stream's events: their names, their payloads and the event-id format. Everything that
// crosses the SSE wire is defined here (log and health payloads in logs.ts).
import type { Direction } from "./metrics.ts";

/** SSE event names. */
export const EVENT = {
  metric: "metric-update",
  alert: "alert",
  /** Sent once, before replay, when the client's Last-Event-ID is older than what is retained. */
  gap: "gap",
  /** An application log line (contract/logs.ts). */
  log: "log",
  /** Sent to one viewer (no id) that fell behind and lost log lines: how many. */
  logDropped: "log-dropped",
  /** One run of a health check. */
  health: "health",
} as const;
export type EventName = (typeof EVENT)[keyof typeof EVENT];

/** The seed's five metric names (a dashboard without `metrics` shows these). */
export const METRICS = ["cpu", "memory", "rps", "activeConnections", "errorRate"] as const;

/** Per split metric (`source.by`), its series' values at the sample's time: metric → series → value. */
export type SeriesValues = { readonly [metric: string]: { readonly [series: string]: number } };

/**
 * `metric-update` payload: the metrics the sample carries, in the dashboard's definition order,
 * then `timestamp` (ISO 8601, UTC). Values are rounded to each metric's `decimals`. Real sources
 * report at different rates, so a sample of a dashboard with defined metrics may carry a subset;
 * the seed's five always come complete. A split metric's own value is the aggregate of its live
 * series, and `series` (after `timestamp`, only when the sample carries a split metric) holds
 * the values of the series that reported at that time. Samples without split metrics have no
 * `series` key at all: their bytes are what they always were.
 */
export type MetricUpdate = { readonly [metric: string]: number | string | SeriesValues | undefined } & {
  timestamp: string;
  series?: SeriesValues;
};

/** A complete sample of the seed's five, as a dashboard without `metrics` always sends it. */
export type MetricSample = { cpu: number; memory: number; rps: number; activeConnections: number; errorRate: number; timestamp: string };

export type AlertLevel = "warning" | "critical" | "resolved";

/** `alert` payload. */
export interface Alert {
  level: AlertLevel;
  metric: string;
  /** The series of a split metric (its `source.by` value) the alert is about; absent otherwise. */
  series?: string;
  value: number;
  /** The threshold that was crossed (for `resolved`: the warning threshold it came back past). */
  threshold: number;
  /** Which side of the threshold is bad; absent on the seed's five (always "above"). */
  direction?: Direction;
  message: string;
  timestamp: string;
}

/** `gap` payload: the events between the client's id and `oldestId` are no longer retained. */
export interface Gap {
  lastEventId: string;
  oldestId: string | null;
  message: string;
}

// ---- Event ids ----------------------------------------------------------------------------
// Redis-stream style `<ms>-<seq>`: milliseconds since the epoch, then a sequence number within
// that millisecond. Strictly increasing per dashboard; the same id is the SSE `id:` field, the
// Redis stream entry id and the SQLite primary key.

export interface EventId {
  ms: number;
  seq: number;
}

// Up to 15 digits keeps both parts exact in a double (2^53 ≈ 9.007e15).
const EVENT_ID_RE = /^(\d{1,15})-(\d{1,15})$/;

/** Parses `<ms>-<seq>`; anything else (including ids from other systems) is `null`. */
export function parseEventId(raw: string | null | undefined): EventId | null {
  if (!raw) return null;
  const m = EVENT_ID_RE.exec(raw.trim());
  if (!m) return null;
  return { ms: Number(m[1]), seq: Number(m[2]) };
}

export function formatEventId(id: EventId): string {
  return `${id.ms}-${id.seq}`;
}

export function compareEventIds(a: EventId, b: EventId): number {
  return a.ms - b.ms || a.seq - b.seq;
}

/** The next id after `last` at wall-clock `nowMs`; never goes backwards, even if the clock does. */
export function nextEventId(last: EventId | null, nowMs: number): EventId {
  if (!last || nowMs > last.ms) return { ms: nowMs, seq: 0 };
  return { ms: last.ms, seq: last.seq + 1 };
}

/**
 * The stream's in-memory window: how far back `history=` and a reconnect are served from memory
 * (the dashboard object's and each relay's), and what the page's live charts cover. Longer
 * windows come from the downsampled history (history.ts).
 */
export const LIVE_WINDOW_SECONDS = 15 * 60;
