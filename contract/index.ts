// The wire contract between the Worker, the dashboard Durable Object and the Vue client:
// event names, payload shapes, the event-id format and (in metrics.ts, alerts.ts) the metric
// model and its alert rules.
// Everything that crosses the SSE wire or the JSON API is defined here and nowhere else.

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

import type { Direction } from "./metrics.ts";
export * from "./metrics.ts";
export * from "./logs.ts";
export { evaluateAlerts, levelFor, type AlertState, type Level } from "./alerts.ts";

/** The seed's five metric names (a dashboard without `metrics` shows these). */
export const METRICS = ["cpu", "memory", "rps", "activeConnections", "errorRate"] as const;

/**
 * `metric-update` payload: the metrics the sample carries, in the dashboard's definition order,
 * then `timestamp` (ISO 8601, UTC). Values are rounded to each metric's `decimals`. Real sources
 * report at different rates, so a sample of a dashboard with defined metrics may carry a subset;
 * the seed's five always come complete.
 */
export type MetricUpdate = { readonly [metric: string]: number | string } & { timestamp: string };

/** A complete sample of the seed's five, as a dashboard without `metrics` always sends it. */
export type MetricSample = { cpu: number; memory: number; rps: number; activeConnections: number; errorRate: number; timestamp: string };

export type AlertLevel = "warning" | "critical" | "resolved";

/** `alert` payload. */
export interface Alert {
  level: AlertLevel;
  metric: string;
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

// ---- HTTP API -----------------------------------------------------------------------------

/** Dashboard ids are lowercase slugs; the same rule guards the Durable Object name. */
export const DASHBOARD_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** `GET /api/dashboards` lists these; `GET /api/dashboards/:id` returns the DashboardDef. */
export interface Dashboard {
  id: string;
  name: string;
}

export interface DashboardStats {
  dashboard: string;
  /** Open streams, on the dashboard's object and on its relays. */
  connectedClients: number;
  /** Relay objects serving viewers of this dashboard (0 when RELAYS_PER_DASHBOARD is 0). */
  relays: number;
  lastEventId: string | null;
  lastEventTime: string | null;
  eventsPublished: number;
  eventsDelivered: number;
  retentionSeconds: number;
  eventLog: EventLogHealth;
}

export interface EventLogHealth {
  backend: "durable-object-sqlite" | "upstash-redis";
  status: "ok" | "degraded";
  reason?: string;
}

export interface Health {
  status: "ok" | "degraded";
  eventLog: EventLogHealth;
}

/** Every error response body. */
export interface ApiError {
  error: string;
  message: string;
}

/** `GET /api/config`: what a client must know before it connects. */
export interface ClientConfig {
  /** "ticket": streams need `?ticket=` from `POST /api/tickets` (Bearer viewer token). */
  viewerAuth: "none" | "ticket";
  ticketTtlSeconds: number;
}

/** `POST /api/tickets` → 201. */
export interface Ticket {
  ticket: string;
  expiresAt: string;
}

/** `POST /api/dashboards/:id/logs` → 202: one id per line, in order. */
export interface LogIngestResult {
  ids: string[];
}

/** `POST /api/dashboards/:id/metrics` → 202: one id per sample, and the alerts they raised. */
export interface IngestResult {
  ids: string[];
  alertIds: string[];
}

/** Query parameters of `GET /api/dashboards/:id/events`. */
export const STREAM_QUERY = {
  history: "history",
  metrics: "metrics",
  lastEventId: "lastEventId",
  ticket: "ticket",
  logs: "logs",
} as const;

export const DEFAULT_HISTORY_SECONDS = 60;

// ---- History (downsampled series) ---------------------------------------------------------

/**
 * Steps a series answer can come in, in ms. `1m` and `1h` are the stored tiers; the others are
 * whole multiples of one of them, merged at query time so `auto` can aim at ~300–1,500 points.
 */
export const SERIES_STEPS = {
  "1m": 60_000,
  "2m": 120_000,
  "5m": 300_000,
  "10m": 600_000,
  "15m": 900_000,
  "30m": 1_800_000,
  "1h": 3_600_000,
  "2h": 7_200_000,
  "3h": 10_800_000,
  "6h": 21_600_000,
  "12h": 43_200_000,
  "1d": 86_400_000,
} as const;
export type SeriesStep = keyof typeof SERIES_STEPS;

/** 1-hour buckets are kept this long; it is also the longest range one query may ask for. */
export const SERIES_MAX_DAYS = 90;

/** One metric's columns, aligned with `SeriesAnswer.t`; null where the bucket has no sample of it. */
export interface SeriesColumns {
  min: (number | null)[];
  max: (number | null)[];
  avg: (number | null)[];
  /** The value of the bucket's latest sample (by its timestamp). */
  last: (number | null)[];
}

/**
 * `GET /api/dashboards/:id/series` → 200. Columnar: `t` holds bucket starts (epoch ms, ascending)
 * of the buckets where at least one requested metric has data; buckets with none are left out.
 */
export interface SeriesAnswer {
  step: SeriesStep;
  t: number[];
  series: Record<string, SeriesColumns>;
}
