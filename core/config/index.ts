// Reads and checks the Worker's configuration once per env object. A bad value fails at
// startup (worker/index.ts reads it at module load) with a message naming the variable.
import { LOG_LIMITS, SERIES_MAX_DAYS, type DashboardDef } from "../../contract/index.ts";
import { checkAccess, parseAccess, type AccessConfig, type DashboardAccess } from "./access.ts";
import { parseDashboards } from "./dashboards.ts";
import { dashboardChannels, parseNotify, parsePublicUrl, type NotifyChannel } from "./notify.ts";
import {
  parseOrigins,
  parseUpstash,
  parseViewer,
  positiveNumber,
  secret,
  wholeNumber,
  type UpstashConfig,
  type ViewerConfig,
} from "./values.ts";

export { isViewer, type AccessConfig, type DashboardAccess } from "./access.ts";
export { dashboardDef } from "./dashboards.ts";
export { dashboardUrl, type NotifyChannel } from "./notify.ts";
export { secretRef } from "./secret-ref.ts";
export { ConfigError, type UpstashConfig } from "./values.ts";

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
  /** Streams of one dashboard one client address holds at most, per object that holds them (MAX_STREAMS_PER_CLIENT). */
  maxStreamsPerClient: number;
  /**
   * RELAYS_PER_DASHBOARD: 0 (default) = viewers connect to the dashboard's object; K > 0 = each
   * new viewer is placed on one of K relay objects `<dashboard>:<i>` (durable-objects/relay.ts).
   */
  relaysPerDashboard: number;
  /** Streams one relay object serves at most (STREAMS_PER_RELAY). */
  streamsPerRelay: number;
  /** INGEST_TOKEN secret: writes every dashboard; unset = only dashboards with their own ingestToken take ingest. */
  ingestToken: string | undefined;
  /** VIEWER_SECRET (+ VIEWER_TOKEN) secrets: when set, tickets open the streams of non-public dashboards. */
  viewer: ViewerConfig | null;
  /** ACCESS_TEAM_DOMAIN + ACCESS_AUD: a valid Cloudflare Access assertion lets its bearer watch. */
  access: AccessConfig | null;
  /** What the page needs to watch a dashboard that is not public ("access" wins over "ticket"). */
  viewerAuth: "none" | "ticket" | "access";
  /** Each dashboard's own tokens, `public` and `viewers`, by id (never sent to clients). */
  dashboardAccess: ReadonlyMap<string, DashboardAccess>;
  /** TICKET_TTL_SECONDS (default 60): how long a viewer ticket opens streams. */
  ticketTtlSeconds: number;
  /** LOG_RATE_PER_SECOND / LOG_BURST: log lines one dashboard accepts (token bucket). */
  logRate: { perSecond: number; burst: number };
  /** INGEST_POINTS_PER_SECOND / INGEST_POINTS_BURST: metric values (JSON samples' values, OTLP, line-protocol and remote-write points) one dashboard accepts (token bucket). */
  pointRate: { perSecond: number; burst: number };
  /**
   * OTLP_MAX_BYTES / INFLUX_MAX_BYTES / PROMETHEUS_MAX_BYTES: largest body of an OTLP /
   * line-protocol / remote-write request, after gunzip (snappy for remote write).
   */
  otlpMaxBytes: number;
  influxMaxBytes: number;
  prometheusMaxBytes: number;
  /** Set when both UPSTASH_REDIS_REST_URL and _TOKEN are: events go to Upstash Redis Streams. */
  upstash: UpstashConfig | null;
  /** MAX_LOG_BYTES: the most one dashboard's event log holds in its object's SQLite; past it the oldest events go. */
  maxLogBytes: number;
  /** NOTIFY and each dashboard's `notify`: the channels its alerts go to, by dashboard id (none: absent). */
  notify: ReadonlyMap<string, readonly NotifyChannel[]>;
  /** PUBLIC_URL, ending in "/": where the page is served, for the messages' links (null: no links). */
  publicUrl: string | null;
}

/** More relays than this would make every stats request and every commit fan out too widely. */
export const MAX_RELAYS_PER_DASHBOARD = 100;

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
  const { dashboards, access: dashboardAccess } = parseDashboards(env.DASHBOARDS, env);
  const viewer = parseViewer(
    env,
    [...dashboardAccess.values()].some((d) => d.viewerToken),
  );
  const access = parseAccess(env);
  checkAccess(dashboardAccess, viewer, access);
  return {
    dashboards,
    notify: dashboardChannels(env.DASHBOARDS, parseNotify(env.NOTIFY, env)),
    publicUrl: parsePublicUrl(env.PUBLIC_URL),
    dashboardAccess,
    viewer,
    access,
    viewerAuth: access ? "access" : viewer ? "ticket" : "none",
    retentionSeconds: positiveNumber(env, "RETENTION_SECONDS", 3600),
    historyDays: wholeNumber(env, "HISTORY_DAYS", 7, 1, SERIES_MAX_DAYS),
    heartbeatSeconds: positiveNumber(env, "HEARTBEAT_SECONDS", 15),
    retryMs: positiveNumber(env, "RETRY_MS", 2000),
    publishIntervalMs: positiveNumber(env, "PUBLISH_INTERVAL_MS", 1000),
    publishWindowSeconds: positiveNumber(env, "PUBLISH_WINDOW_SECONDS", 60),
    seed: String(env.SIMULATION_SEED ?? "42"),
    allowedOrigins: parseOrigins(env.ALLOWED_ORIGINS),
    maxStreamsPerDashboard: positiveNumber(env, "MAX_STREAMS_PER_DASHBOARD", 5000),
    maxStreamsPerClient: wholeNumber(env, "MAX_STREAMS_PER_CLIENT", 20, 1, 1_000_000),
    relaysPerDashboard: wholeNumber(env, "RELAYS_PER_DASHBOARD", 0, 0, MAX_RELAYS_PER_DASHBOARD),
    streamsPerRelay: wholeNumber(env, "STREAMS_PER_RELAY", 2000, 1, 1_000_000),
    ingestToken: secret(env.INGEST_TOKEN, "INGEST_TOKEN"),
    ticketTtlSeconds: positiveNumber(env, "TICKET_TTL_SECONDS", 60),
    upstash: parseUpstash(env),
    logRate: {
      perSecond: positiveNumber(env, "LOG_RATE_PER_SECOND", 200),
      // A whole request (up to 500 lines) must fit in a burst, or it could never pass.
      burst: wholeNumber(env, "LOG_BURST", 2000, LOG_LIMITS.lines, 1_000_000),
    },
    pointRate: {
      perSecond: positiveNumber(env, "INGEST_POINTS_PER_SECOND", 50_000),
      burst: wholeNumber(env, "INGEST_POINTS_BURST", 100_000, 1, 100_000_000),
    },
    // Below 1 KiB no real exporter's request fits; above 64 MiB one request would crowd the isolate.
    otlpMaxBytes: wholeNumber(env, "OTLP_MAX_BYTES", 4 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    influxMaxBytes: wholeNumber(env, "INFLUX_MAX_BYTES", 8 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    // A Durable Object holds 10 GB; the log stays well inside it whatever is sent.
    maxLogBytes: wholeNumber(env, "MAX_LOG_BYTES", 256 * 1024 * 1024, 1024 * 1024, 4 * 1024 * 1024 * 1024),
    prometheusMaxBytes: wholeNumber(env, "PROMETHEUS_MAX_BYTES", 4 * 1024 * 1024, 1024, 64 * 1024 * 1024),
  };
}
