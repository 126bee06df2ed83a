// What the Worker and the objects say to each other: the dashboard object's RPC surface
// (streams, publishing, history, stats, and the relay protocol) and the relay object's, with the
// requests and answers they carry. The Worker parses and checks every request once; these types
// are what it hands over, so an object never reads a URL or re-validates a query. Each object
// class implements its interface (`implements DashboardRpc`); stubs get their types from `Env`.
import type {
  CheckState,
  DashboardStats,
  EventName,
  Gap,
  LogLine,
  MetricUpdate,
  NotificationsAnswer,
  NotificationTestAnswer,
  SeriesStep,
  StorageStats,
} from "../contract/index.ts";
import type { CheckRun } from "./checks.ts";
import type { SeriesBatch } from "./ingest/batches.ts";
import type { Refused } from "./ingest/refusals.ts";
import type { StreamFilter } from "./stream-filter.ts";

/** An event as the log stores it and as it crosses RPC (to relays): id, name and payload text. */
export interface LogEntry {
  /** `<ms>-<seq>`, strictly increasing (see contract). */
  id: string;
  event: EventName;
  /** The JSON payload exactly as sent on the wire. */
  data: string;
}

// ---- naming --------------------------------------------------------------------------------

const RELAY_NAME_RE = /^([a-z0-9][a-z0-9-]{0,62}):(\d+)$/;

/** Relay `i` of `dashboard` is the object named `<dashboard>:<i>`. */
export const relayName = (dashboard: string, i: number): string => `${dashboard}:${i}`;

/** The dashboard a relay name belongs to; null when `name` is not a relay's name. */
export function relayDashboard(name: string | undefined | null): string | null {
  return RELAY_NAME_RE.exec(name ?? "")?.[1] ?? null;
}

// ---- streams -------------------------------------------------------------------------------

/** A viewer's stream as the Worker parsed it from the request (worker/routes/stream.ts). */
export interface StreamOpen {
  /** `?metrics=` and `?logs=`; null: the default (every metric, log lines of info and above). */
  filter: StreamFilter | null;
  /** Seconds of history before going live, already clamped to the retention. */
  historySeconds: number;
  /** Last-Event-ID (header, or `?lastEventId=`) as the client sent it; a malformed one is a fresh connect. */
  resumeId: string | null;
  /** Who is watching: what the per-client stream cap counts, and the Access identity's email. */
  viewer?: StreamViewer;
}

export interface StreamViewer {
  /** CF-Connecting-IP (an IPv6 address as its /64); null when the request did not come through Cloudflare's edge (tests). */
  address: string | null;
  email?: string;
}

/** A stream opened on a relay carries the relay's name: one reached through wrangler's dev registry has no `ctx.id.name`. */
export interface RelayStreamOpen extends StreamOpen {
  relay: string;
}

// ---- the objects' interfaces ---------------------------------------------------------------

export interface DashboardRpc {
  /** The SSE response: history or what a resume missed, then live events (503 past the stream cap). */
  openStream(open: StreamOpen): Promise<Response>;
  publish(request: PublishRequest): Promise<PublishResult>;
  /** JSON ingest: samples checked by the Worker, counted against the dashboard's point rate. */
  ingestSamples(request: IngestSamplesRequest): Promise<PublishResult | { retryAfterMs: number } | { refused: string }>;
  /** Whether anyone watches (streams here or on relays): the cron simulates only watched dashboards. */
  watched(): Promise<boolean>;
  publishPoints(request: PublishPointsRequest): Promise<PublishPointsResult>;
  publishLogs(request: PublishLogsRequest): Promise<PublishResult | { retryAfterMs: number }>;
  recordCheck(request: RecordCheckRequest): Promise<PublishResult>;
  checks(): Promise<CheckState[]>;
  series(request: SeriesRequest): Promise<SeriesResult>;
  stats(): Promise<DashboardStats>;
  replay(request: ReplayRequest): Promise<ReplayResult>;
  subscribe(request: SubscribeRequest): Promise<{ lastId: string | null }>;
  unsubscribe(request: Omit<SubscribeRequest, "viewers">): Promise<void>;
  /** Each notification channel's deliveries (no URL, key or secret in it). */
  notifications(): Promise<NotificationsAnswer>;
  /** A test message to each channel; past one per 10 s, how long to wait. */
  testNotifications(): Promise<NotificationTestAnswer | { retryAfterMs: number }>;
}

export interface RelayRpc {
  openStream(open: RelayStreamOpen): Promise<Response>;
  /** One commit from the dashboard. False: the relay serves no viewers, stop pushing to it. */
  deliver(batch: DeliverBatch): boolean;
  report(): RelayReport;
}

// ---- requests and answers ------------------------------------------------------------------

export interface PublishRequest {
  /** Checked and rounded against the dashboard's definitions (core/ingest/samples.ts). */
  samples: MetricUpdate[];
  /** Log lines published in the same commit, after the samples (the simulator's; not rate-limited). */
  logs?: LogLine[];
  /**
   * With `seq`: a publisher's own sequence, the time (ms) of the samples it sends (the simulator's
   * ticks); a (source, seq) not after the last one is not published twice. A simulated
   * dashboard nobody watches takes no simulator ticks.
   */
  source?: string;
  seq?: number;
}

export interface IngestSamplesRequest {
  /** Checked and rounded against the dashboard's definitions (core/ingest/samples.ts). */
  samples: MetricUpdate[];
  /** Values the samples carry: what the dashboard's point rate counts. */
  points: number;
}

export interface PublishLogsRequest {
  /** Checked against the log ingest rules (core/ingest/logs.ts). */
  lines: LogLine[];
}

/** OTLP and line-protocol points, mapped onto the dashboard's metrics (worker/ingest/mapping.ts). */
export interface PublishPointsRequest {
  batches: SeriesBatch[];
  /** Points the request carried (what the dashboard's point rate counts). */
  points: number;
  /** All or nothing (line protocol): when any point is refused, publish none. */
  atomic: boolean;
}

/** Over the point rate: `retryAfterMs`. Else what was published and what was refused (`published: false`: atomic and refused). */
export type PublishPointsResult = { retryAfterMs: number } | (PublishResult & { refused: Refused; published: boolean });

export interface RecordCheckRequest {
  name: string;
  run: CheckRun;
}

export interface PublishResult {
  /** Every event the publish produced, in id order: its metric updates and any alerts. */
  ids: string[];
  events: { id: string; event: EventName }[];
  duplicate?: boolean;
  /** A simulator tick for a simulated dashboard nobody watches: not published (the cron stops feeding it). */
  unwatched?: boolean;
}

/** One push: the events of one commit, and the id committed just before them. */
export interface DeliverBatch {
  prevId: string | null;
  entries: LogEntry[];
}

export interface SubscribeRequest {
  /** The relay's name, `<dashboard>:<i>`. */
  relay: string;
  /** Changes whenever the relay starts afresh (first viewer after none). */
  session: string;
  viewers: number;
  /** Events the relay delivered since it last reported. */
  delivered: number;
}

export interface ReplayRequest {
  /** A client's Last-Event-ID (unparsed, as the client sent it), or the relay's own last id. */
  lastEventId: string | null;
  /** Without a usable `lastEventId`: the events since this time (clamped to retention). */
  sinceMs: number;
}

/** What a viewer connecting directly would be sent first: history, or what a resume missed. */
export interface ReplayResult {
  /** The gap notice a direct viewer would get first (its id is older than retention, or unknown). */
  gap: Gap | null;
  entries: LogEntry[];
  /** Every event up to this id is accounted for: the caller goes on from here. */
  through: string | null;
  /** Where the history started, after clamping to retention (for a history request). */
  sinceMs: number;
  /** The answer was cut at REPLAY_LIMIT entries: ask again after `through`. */
  more: boolean;
}

export interface RelayReport {
  viewers: number;
  delivered: number;
  /** The relay's own storage work (core of the dashboard's `storage` stats). */
  storage: StorageStats;
}

/** A history query, checked by the Worker (worker/routes/series-query.ts). */
export interface SeriesRequest {
  from: number;
  to: number;
  step: SeriesStep;
  /** Defined metrics of the dashboard, in definition order. */
  metrics: string[];
}

export interface SeriesResult {
  /** The SeriesAnswer, encoded. */
  json: string;
  /** False when the buckets could not be brought up to date from the log (not to be cached). */
  complete: boolean;
}
