// The production event log: one Upstash Redis Stream per dashboard, reached over Upstash's
// REST API through core/upstash.ts (every request has a hard deadline: the dashboard object
// retries, so a slow or dead Redis must never stall it).
//
// Key layout (KEY_PREFIX = UPSTASH_KEY_PREFIX, default "rtd"):
//   <prefix>:{<dashboard>}:events   STREAM  one entry per event: id = the SSE event id
//                                           (`<ms>-<seq>`, assigned by the dashboard object),
//                                           fields `event` (the SSE event name) and `data`
//                                           (the JSON payload, byte for byte as sent).
//   <prefix>:{<dashboard>}:trimmed  STRING  the newest id trim() removed (see trimmedThrough).
// The braces are a Redis Cluster hash tag: both keys of one dashboard live in one slot.
//
// Retention: trim() (called by the dashboard object once a minute) removes entries older than
// the retention exactly and records the newest id it removed. Every XADD also carries
// `MINID ~` as a backstop for when trim() has not run for a while; it trims GRACE_MS behind
// the retention so that, normally, trim() has always got there first and the marker is exact.
// (Redis does not record trimmed ids itself: XINFO STREAM's max-deleted-entry-id only moves on
// XDEL, never on XTRIM or XADD trimming.)
import { formatEventId, parseEventId, type EventName } from "../../contract/index.ts";
import type { LogEntry } from "../../core/rpc.ts";
import { UpstashClient, UpstashLogError, type UpstashClientConfig } from "../../core/upstash.ts";
import type { EventLog } from "./event-log.ts";

export interface UpstashLogConfig extends UpstashClientConfig {
  /** First part of every key; defaults to "rtd". */
  keyPrefix?: string;
}

export const DEFAULT_KEY_PREFIX = "rtd";
/** How far behind the retention the XADD backstop trims. */
export const GRACE_MS = 10 * 60_000;
/** Entries per pipeline request (keeps a large catch-up append well under request limits). */
const APPEND_CHUNK = 500;

const TOP_ITEM_ERROR = /equal or smaller than the target stream top item/i;

export function streamKey(prefix: string, dashboard: string): string {
  return `${prefix}:{${dashboard}}:events`;
}

export function trimmedKey(prefix: string, dashboard: string): string {
  return `${prefix}:{${dashboard}}:trimmed`;
}

type RawEntry = [id: string, fields: string[]];

export class UpstashEventLog implements EventLog {
  readonly backend = "upstash-redis" as const;
  /** Appends go over the network: the dashboard object keeps a durable outbox. */
  readonly inObjectStorage = false;
  readonly dashboard: string;
  readonly key: string;
  readonly trimmedKey: string;
  private readonly retentionSeconds: number;
  private readonly client: UpstashClient;

  constructor(config: UpstashLogConfig, dashboard: string, retentionSeconds: number) {
    this.dashboard = dashboard;
    this.retentionSeconds = retentionSeconds;
    const prefix = config.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.key = streamKey(prefix, dashboard);
    this.trimmedKey = trimmedKey(prefix, dashboard);
    this.client = new UpstashClient(config);
  }

  private get redis() {
    return this.client.redis;
  }

  private call<T>(command: string, run: () => Promise<T>): Promise<T> {
    return this.client.call(command, run);
  }

  async append(entries: LogEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += APPEND_CHUNK) {
      await this.appendChunk(entries.slice(i, i + APPEND_CHUNK));
    }
  }

  private async appendChunk(entries: LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const ids = entries.map((e) => checkedId(e.id));
    // The backstop trims relative to the newest id being appended (ids are times), so it can
    // never remove what it adds, whatever the clock says.
    const minMs = ids[ids.length - 1]!.ms - this.retentionSeconds * 1000 - GRACE_MS;
    const trim = minMs > 0 ? { trim: { type: "MINID" as const, comparison: "~" as const, threshold: String(minMs) } } : undefined;
    const pipeline = this.redis.pipeline();
    for (const e of entries) pipeline.xadd(this.key, e.id, { event: e.event, data: e.data }, trim);
    const results = await this.call("XADD", () => pipeline.exec<string[]>({ keepErrors: true }));
    // An XADD refused because its id is not above the stream's newest one was, normally,
    // appended by an earlier attempt whose response was lost: check that it is really there.
    const already: LogEntry[] = [];
    results.forEach(({ error }, i) => {
      if (!error) return;
      if (!TOP_ITEM_ERROR.test(error)) throw new UpstashLogError(`Upstash: XADD ${entries[i]!.id} failed: ${error}`);
      already.push(entries[i]!);
    });
    if (already.length > 0) await this.confirmAppended(already);
  }

  private async confirmAppended(entries: LogEntry[]): Promise<void> {
    const first = entries[0]!.id;
    const last = entries[entries.length - 1]!.id;
    const stored = new Map((await this.range("XRANGE", first, last, entries.length * 2 + 10)).map((e) => [e.id, e]));
    for (const e of entries) {
      const found = stored.get(e.id);
      if (!found) {
        throw new UpstashLogError(`Upstash: cannot append ${e.id} to ${this.key}: the stream already has a newer entry (another writer?)`);
      }
      if (found.event !== e.event || found.data !== e.data) {
        throw new UpstashLogError(`Upstash: ${this.key} already holds a different entry with id ${e.id} (another writer?)`);
      }
    }
  }

  async readAfter(afterId: string, limit: number): Promise<LogEntry[]> {
    const after = formatEventId(checkedId(afterId));
    return this.range("XRANGE", `(${after}`, "+", limit);
  }

  async readSince(sinceMs: number, limit: number): Promise<LogEntry[]> {
    return this.range("XRANGE", String(Math.max(0, Math.floor(sinceMs))), "+", limit);
  }

  async readBefore(beforeId: string | null, limit: number): Promise<LogEntry[]> {
    return this.range("XREVRANGE", beforeId === null ? "+" : `(${formatEventId(checkedId(beforeId))}`, "-", limit);
  }

  async lastId(): Promise<string | null> {
    const [newest] = await this.range("XREVRANGE", "+", "-", 1);
    return newest?.id ?? null;
  }

  async trimmedThrough(): Promise<string | null> {
    const value = await this.call("GET", () => this.redis.get<string>(this.trimmedKey));
    return parseEventId(value) ? value : null;
  }

  async trim(minMs: number): Promise<void> {
    const threshold = Math.floor(minMs);
    if (threshold <= 0) return;
    // The newest entry that is about to go: recorded so resumes from before it get a gap notice.
    const [newest] = await this.range("XREVRANGE", `(${threshold}-0`, "-", 1);
    if (!newest) return;
    // Marker first: if the XTRIM then fails, the marker only claims a loss that has not
    // happened yet (a needless gap notice) instead of hiding one.
    const pipeline = this.redis.pipeline();
    pipeline.set(this.trimmedKey, newest.id);
    pipeline.xtrim(this.key, { strategy: "MINID", exactness: "=", threshold: String(threshold) });
    const results = await this.call("XTRIM", () => pipeline.exec({ keepErrors: true }));
    const failed = results.find((r) => r.error);
    if (failed) throw new UpstashLogError(`Upstash: trim of ${this.key} failed: ${failed.error}`);
  }

  private async range(command: "XRANGE" | "XREVRANGE", start: string, end: string, count: number): Promise<LogEntry[]> {
    const raw = await this.call(command, () =>
      command === "XRANGE" ? this.redis.xrange(this.key, start, end, count) : this.redis.xrevrange(this.key, start, end, count),
    );
    // With automaticDeserialization off the client hands back Redis's reply as is.
    return (raw as unknown as RawEntry[]).map(([id, fields]) => toEntry(id, fields));
  }
}

function toEntry(id: string, fields: string[]): LogEntry {
  let event: string | undefined;
  let data: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === "event") event = fields[i + 1];
    else if (fields[i] === "data") data = fields[i + 1];
  }
  if (event === undefined || data === undefined) throw new UpstashLogError(`Upstash: stream entry ${id} lacks event/data`);
  return { id, event: event as EventName, data };
}

function checkedId(raw: string) {
  const id = parseEventId(raw);
  if (!id) throw new TypeError(`bad event id ${JSON.stringify(raw)}`);
  return id;
}
