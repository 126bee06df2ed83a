// Reads and checks the Worker's configuration once per env object. A bad value fails at
// startup (worker/index.ts reads it at module load) with a message naming the variable.
import { DASHBOARD_ID_RE, DEFAULT_METRICS, defineMetrics, LOG_LIMITS, SERIES_MAX_DAYS, type DashboardDef } from "../../contract/index.ts";
import { defineChecks } from "../checks.ts";

export interface Config {
  dashboards: DashboardDef[];
  retentionSeconds: number;
  /** HISTORY_DAYS (default 7, 1–90): how long 1-minute history buckets are kept. */
  historyDays: number;
  heartbeatSeconds: number;
  retryMs: number;
  publishIntervalMs: number;
  publishWindowSeconds: number;
  seed: string;
  /** Origins that get CORS headers (ALLOWED_ORIGINS, comma-separated; never "*"). */
  allowedOrigins: string[];
  /** Streams one dashboard object serves at most (MAX_STREAMS_PER_DASHBOARD). */
  maxStreamsPerDashboard: number;
  /**
   * RELAYS_PER_DASHBOARD: 0 (default) = viewers connect to the dashboard's object; K > 0 = each
   * new viewer is placed on one of K relay objects `<dashboard>:<i>` (durable-objects/relay.ts).
   */
  relaysPerDashboard: number;
  /** Streams one relay object serves at most (STREAMS_PER_RELAY). */
  streamsPerRelay: number;
  /** INGEST_TOKEN secret: Bearer token for POST /api/dashboards/:id/metrics; unset = ingest off. */
  ingestToken: string | undefined;
  /** VIEWER_SECRET + VIEWER_TOKEN secrets: when set, streams need a ticket. */
  viewer: { secret: string; token: string } | null;
  /** TICKET_TTL_SECONDS (default 60): how long a viewer ticket opens streams. */
  ticketTtlSeconds: number;
  /** LOG_RATE_PER_SECOND / LOG_BURST: log lines one dashboard accepts (token bucket). */
  logRate: { perSecond: number; burst: number };
  /** INGEST_POINTS_PER_SECOND / INGEST_POINTS_BURST: OTLP and line-protocol points one dashboard accepts (token bucket). */
  pointRate: { perSecond: number; burst: number };
  /** OTLP_MAX_BYTES / INFLUX_MAX_BYTES: largest body (after gunzip) of an OTLP / line-protocol request. */
  otlpMaxBytes: number;
  influxMaxBytes: number;
  /** Set when both UPSTASH_REDIS_REST_URL and _TOKEN are: events go to Upstash Redis Streams. */
  upstash: UpstashConfig | null;
}

export interface UpstashConfig {
  url: string;
  token: string;
  /** UPSTASH_KEY_PREFIX (default "rtd"): keys are `<prefix>:{<dashboard>}:events`. Lets
   *  several deployments or test runs share one database without seeing each other. */
  keyPrefix: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const cache = new WeakMap<object, Config>();

export function readConfig(env: Env): Config {
  let config = cache.get(env);
  if (!config) {
    config = parseConfig(env);
    cache.set(env, config);
  }
  return config;
}

function parseConfig(env: Env): Config {
  return {
    dashboards: parseDashboards(env.DASHBOARDS),
    retentionSeconds: positiveNumber(env, "RETENTION_SECONDS", 3600),
    historyDays: wholeNumber(env, "HISTORY_DAYS", 7, 1, SERIES_MAX_DAYS),
    heartbeatSeconds: positiveNumber(env, "HEARTBEAT_SECONDS", 15),
    retryMs: positiveNumber(env, "RETRY_MS", 2000),
    publishIntervalMs: positiveNumber(env, "PUBLISH_INTERVAL_MS", 1000),
    publishWindowSeconds: positiveNumber(env, "PUBLISH_WINDOW_SECONDS", 60),
    seed: String(env.SIMULATION_SEED ?? "42"),
    allowedOrigins: parseOrigins(env.ALLOWED_ORIGINS),
    maxStreamsPerDashboard: positiveNumber(env, "MAX_STREAMS_PER_DASHBOARD", 5000),
    relaysPerDashboard: wholeNumber(env, "RELAYS_PER_DASHBOARD", 0, 0, MAX_RELAYS_PER_DASHBOARD),
    streamsPerRelay: wholeNumber(env, "STREAMS_PER_RELAY", 2000, 1, 1_000_000),
    ingestToken: secret(env.INGEST_TOKEN, "INGEST_TOKEN"),
    viewer: parseViewer(env),
    ticketTtlSeconds: positiveNumber(env, "TICKET_TTL_SECONDS", 60),
    upstash: parseUpstash(env),
    logRate: {
      perSecond: positiveNumber(env, "LOG_RATE_PER_SECOND", 200),
      // A whole request (up to 500 lines) must fit in a burst, or it could never pass.
      burst: wholeNumber(env, "LOG_BURST", 2000, LOG_LIMITS.lines, 1_000_000),
    },
    pointRate: {
      perSecond: positiveNumber(env, "INGEST_POINTS_PER_SECOND", 100_000),
      burst: wholeNumber(env, "INGEST_POINTS_BURST", 200_000, 1, 100_000_000),
    },
    // Below 1 KiB no real exporter's request fits; above 64 MiB one request would crowd the isolate.
    otlpMaxBytes: wholeNumber(env, "OTLP_MAX_BYTES", 4 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    influxMaxBytes: wholeNumber(env, "INFLUX_MAX_BYTES", 8 * 1024 * 1024, 1024, 64 * 1024 * 1024),
  };
}

function positiveNumber(env: Env, name: keyof Env & string, fallback: number): number {
  const raw = (env as unknown as Record<string, unknown>)[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** More relays than this would make every stats request and every commit fan out too widely. */
export const MAX_RELAYS_PER_DASHBOARD = 100;

function wholeNumber(env: Env, name: keyof Env & string, fallback: number, min: number, max: number): number {
  const raw = (env as unknown as Record<string, unknown>)[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

const DASHBOARD_KEYS = new Set(["id", "name", "simulate", "metrics", "checks"]);

function parseDashboards(raw: unknown): DashboardDef[] {
  const list = typeof raw === "string" ? safeJson(raw) : raw;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigError("DASHBOARDS must be a non-empty list of { id, name, simulate?, metrics? }");
  }
  const seen = new Set<string>();
  return list.map((d: unknown) => {
    const entry = (typeof d === "object" && d !== null ? d : {}) as Record<string, unknown>;
    const { id, name, simulate, metrics, checks } = entry;
    if (typeof id !== "string" || !DASHBOARD_ID_RE.test(id)) {
      throw new ConfigError(`DASHBOARDS: id ${JSON.stringify(id)} must match ${DASHBOARD_ID_RE}`);
    }
    if (seen.has(id)) throw new ConfigError(`DASHBOARDS: id "${id}" is listed twice`);
    seen.add(id);
    for (const key of Object.keys(entry)) {
      if (!DASHBOARD_KEYS.has(key))
        throw new ConfigError(`DASHBOARDS: dashboard "${id}": unknown key "${key}" (known: ${[...DASHBOARD_KEYS].join(", ")})`);
    }
    if (simulate !== undefined && typeof simulate !== "boolean") {
      throw new ConfigError(`DASHBOARDS: dashboard "${id}": simulate must be true or false`);
    }
    let defs: DashboardDef["metrics"];
    let checkDefs: DashboardDef["checks"];
    try {
      defs = metrics === undefined ? DEFAULT_METRICS.map((m) => ({ ...m })) : defineMetrics(id, metrics);
      checkDefs = defineChecks(id, checks);
    } catch (err) {
      throw err instanceof Error ? new ConfigError(err.message) : err;
    }
    return {
      id,
      name: typeof name === "string" && name ? name : id,
      simulate: simulate ?? true,
      seed: metrics === undefined,
      metrics: defs,
      checks: checkDefs,
    };
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseUpstash(env: Env): Config["upstash"] {
  const url = env.UPSTASH_REDIS_REST_URL?.trim();
  const token = env.UPSTASH_REDIS_REST_TOKEN?.trim();
  if (!url && !token) return null;
  if (!url || !token) {
    throw new ConfigError(`Set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (only ${url ? "the URL" : "the token"} is set)`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`UPSTASH_REDIS_REST_URL is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new ConfigError(`UPSTASH_REDIS_REST_URL must be http(s), got ${parsed.protocol}`);
  }
  return { url, token, keyPrefix: parseKeyPrefix(env) };
}

// Letters, digits and `:_.-`: no glob characters (the prefix is used in SCAN MATCH), no
// braces (they would change the Redis Cluster hash tag), no spaces.
const KEY_PREFIX_RE = /^[A-Za-z0-9][A-Za-z0-9:_.-]{0,99}$/;

function parseKeyPrefix(env: Env): string {
  const raw = env.UPSTASH_KEY_PREFIX?.trim();
  if (!raw) return "rtd";
  if (!KEY_PREFIX_RE.test(raw) || raw.endsWith(":")) {
    throw new ConfigError(`UPSTASH_KEY_PREFIX must be 1-100 letters, digits or ":_.-" (not ending in ":"), got ${JSON.stringify(raw)}`);
  }
  return raw;
}

const DEV_ORIGINS = ["http://localhost:5173", "http://127.0.0.1:5173", "http://localhost:8787", "http://127.0.0.1:8787"];

function parseOrigins(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === "") return DEV_ORIGINS;
  return raw.split(",").map((o) => {
    const origin = o.trim();
    if (origin === "*") throw new ConfigError("ALLOWED_ORIGINS may not be *: list the origins that may read the API");
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ConfigError(`ALLOWED_ORIGINS: ${JSON.stringify(origin)} is not an origin like https://dash.example.com`);
    }
    if (url.origin !== origin) throw new ConfigError(`ALLOWED_ORIGINS: write ${JSON.stringify(origin)} as ${url.origin}`);
    return origin;
  });
}

/** Secrets shorter than 16 characters are refused: they could be guessed. */
function secret(raw: string | undefined, name: string): string | undefined {
  const value = raw?.trim();
  if (!value) return undefined;
  if (value.length < 16) throw new ConfigError(`${name} must be at least 16 characters long`);
  return value;
}

function parseViewer(env: Env): Config["viewer"] {
  const key = secret(env.VIEWER_SECRET, "VIEWER_SECRET");
  const token = secret(env.VIEWER_TOKEN, "VIEWER_TOKEN");
  if (!key && !token) return null;
  if (!key || !token) throw new ConfigError("Set both VIEWER_SECRET (signs tickets) and VIEWER_TOKEN (what viewers present)");
  return { secret: key, token };
}

/** The definition of dashboard `id`; an object whose name is not configured gets the seed's five. */
export function dashboardDef(config: Config, id: string | undefined): DashboardDef {
  return (
    config.dashboards.find((d) => d.id === id) ?? {
      id: id ?? "",
      name: id ?? "",
      simulate: false,
      seed: true,
      metrics: DEFAULT_METRICS.map((m) => ({ ...m })),
      checks: [],
    }
  );
}
