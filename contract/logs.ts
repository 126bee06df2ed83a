// Application logs and health checks: the seed's other two sources. Log lines and check results
// travel on the same stream as metrics, with ids in the dashboard's one sequence.

/** Log levels, least severe first (the order `?logs=<min>` compares by). */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "fatal"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** Viewers get `info` and above unless they ask for `?logs=debug|warn|error|fatal|none`. */
export const DEFAULT_LOG_LEVEL: LogLevel = "info";

export const LOG_LIMITS = {
  /** Lines per request. */
  lines: 500,
  /** UTF-8 bytes of one message. */
  messageBytes: 8 * 1024,
  /** Attributes per line, and the length of an attribute's key and of a text value. */
  attributes: 32,
  attributeKeyLength: 128,
  attributeValueLength: 1024,
} as const;

export type AttributeValue = string | number | boolean;

/** `log` payload. Message and attribute text are as sent: the client must show them as text. */
export interface LogLine {
  level: LogLevel;
  message: string;
  attributes?: Record<string, AttributeValue>;
  /** ISO 8601, UTC. */
  timestamp: string;
}

/** `log-dropped` payload (no id): this viewer fell behind and lost `count` log lines here. */
export interface LogDropped {
  count: number;
  message: string;
}

const LOG_RANK = new Map<string, number>(LOG_LEVELS.map((l, i) => [l, i]));
/** A level's position in LOG_LEVELS (least severe first); anything else counts as the least severe. */
export const logLevelRank = (level: unknown): number => LOG_RANK.get(level as string) ?? 0;

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

// ---- health checks ---------------------------------------------------------------------------

/** A check as a dashboard defines it (DASHBOARDS `checks`), after validation and defaults. */
export interface CheckDef {
  name: string;
  url: string;
  method: "GET" | "HEAD" | "POST";
  expectStatus: number;
  timeoutMs: number;
  intervalSeconds: number;
  /** Consecutive failures before the check is down, and successes before it is up again. */
  downAfter: number;
  upAfter: number;
}

export type CheckStatus = "up" | "down";
/** Why a check failed: no answer in time, no connection, a TLS failure, or the wrong status. */
export type CheckErrorClass = "timeout" | "connection" | "tls" | "unexpected_status";

/** `health` payload: one run of one check, with the check's (debounced) status. */
export interface HealthEvent {
  name: string;
  status: CheckStatus;
  /** This run's outcome (a check stays up until `downAfter` runs in a row fail). */
  ok: boolean;
  latencyMs: number;
  statusCode?: number;
  error?: CheckErrorClass;
  /** What went wrong, for people: "timeout after 5000 ms", "expected 200, got 503". */
  detail?: string;
  timestamp: string;
}

/** `alert` payload when a check changes status. */
export interface CheckAlert {
  level: "critical" | "resolved";
  check: string;
  status: CheckStatus;
  message: string;
  timestamp: string;
}

/** A check's state in `GET /api/dashboards/:id/checks`. */
export interface CheckState {
  name: string;
  url: string;
  intervalSeconds: number;
  /** Null until the check has run. */
  status: CheckStatus | null;
  lastRun: HealthEvent | null;
  /** When the status last changed (ISO), null when it never has. */
  since: string | null;
}
