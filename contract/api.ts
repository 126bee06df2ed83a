// The JSON API: the shapes of its answers and errors, and the stream route's query parameters.

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
  /** SQLite rows the dashboard's object (and its relays) read and wrote since they started, and its database's size: what storage is billed by. */
  storage: StorageStats;
}

export interface StorageStats {
  rowsRead: number;
  rowsWritten: number;
  bytes: number;
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
  /**
   * "ticket": streams need `?ticket=` from `POST /api/tickets` (Bearer viewer token).
   * "access": Cloudflare Access signs people in; the page needs neither ticket nor token.
   */
  viewerAuth: "none" | "ticket" | "access";
  ticketTtlSeconds: number;
  /** With viewer auth on: the dashboards anyone may watch without a ticket (absent when none is). */
  public?: string[];
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
