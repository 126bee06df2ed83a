// The dashboard object's RPC surface beyond fetch: publishing (Worker, cron publisher) and the
// relay protocol (durable-objects/relay.ts ⇄ durable-objects/relay-hub.ts).
import type { EventName, Gap, LogLine, MetricUpdate, SeriesStep } from "../contract/index.ts";
import type { CheckRun } from "../worker/cron/checks.ts";
import type { Refused, SeriesBatch } from "../worker/ingest/mapping.ts";
import type { LogEntry } from "../durable-objects/event-log/event-log.ts";

/**
 * The Worker names the relay it opens a viewer on (`<dashboard>:<i>`) in this header too: a relay
 * reached through wrangler's dev registry (another local session) sees no `ctx.id.name`.
 */
export const RELAY_NAME_HEADER = "X-Relay-Name";

export interface PublishRequest {
  /** Checked and rounded against the dashboard's definitions (worker/ingest.ts). */
  samples: MetricUpdate[];
  /** Log lines published in the same commit, after the samples (the simulator's; not rate-limited). */
  logs?: LogLine[];
  /** With `seq`: a publisher's own sequence; a (source, seq) seen before is not published twice. */
  source?: string;
  seq?: number;
}

export interface PublishLogsRequest {
  /** Checked against the log ingest rules (worker/logs.ts). */
  lines: LogLine[];
}

/** OTLP and line-protocol points, mapped onto the dashboard's metrics (worker/series-mapping.ts). */
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
}

/** A history query, checked by the Worker (worker/series.ts). */
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
