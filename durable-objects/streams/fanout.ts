// The per-viewer machinery shared by the dashboard object (viewers connected directly) and the
// relay objects (viewers of a popular dashboard, spread over several objects): the set of open
// streams, their filter groups, the per-event frame cache, heartbeats and the stuck-stream cut,
// the stream caps (per object, and per client address), and the catch-up-then-live hand-over.
//
// The hot path: `broadcast()` encodes each event once per filter group and enqueues the same
// bytes to every stream of the group, synchronously, without awaiting any client.
import { EVENT, parseEventId, compareEventIds, formatEventId, type ApiError, type EventId, type Gap } from "../../contract/index.ts";
import type { LogEntry, StreamOpen } from "../../core/rpc.ts";
import { wantsLog, type StreamFilter } from "../../core/stream-filter.ts";
import { concatBytes } from "../../core/bytes.ts";
import { encodeFrame, HEARTBEAT, retryFrame, SSE_HEADERS } from "./sse.ts";
import { StreamClient } from "./stream-client.ts";

/** Most events written to a stream as one chunk (≈ 10 KB of metric updates). */
export const BROADCAST_SLICE = 50;

/** An event as the objects hold it in memory: the log entry plus its parsed id and frame cache. */
export interface Entry extends LogEntry {
  key: EventId;
  payload?: Record<string, unknown>;
  /** Encoded frames by filter key ("*" = unfiltered); null = not sent to that filter. */
  frames?: Map<string, Uint8Array | null>;
  /** Filled in after the fact (a simulated dashboard's missed ticks): history, not news to notify. */
  backdated?: boolean;
}

export function toEntry(raw: LogEntry): Entry {
  return { ...raw, key: parseEventId(raw.id)! };
}

/** The log entry alone (what crosses RPC): no parsed id, no cached frames. */
export function toLogEntry({ id, event, data }: LogEntry): LogEntry {
  return { id, event, data };
}

/** `a` < `b` with null = before every id. */
export function isBefore(a: EventId | null, b: EventId | null): boolean {
  if (b === null) return false;
  return a === null || compareEventIds(a, b) < 0;
}

export function idOrNull(id: EventId | null): string | null {
  return id ? formatEventId(id) : null;
}

export function gapFrame(gap: Gap): Uint8Array {
  return encodeFrame({ event: EVENT.gap, data: JSON.stringify(gap) });
}

/** The bytes of `entry` for viewers with `filter`, encoded once and cached on the entry. */
export function frameFor(entry: Entry, filter: StreamFilter | null): Uint8Array | null {
  const key = filter?.key ?? "*";
  const frames = (entry.frames ??= new Map());
  let frame = frames.get(key);
  if (frame !== undefined) return frame;
  if (entry.event === EVENT.log) {
    // Log lines go by level; every group that takes one shares the same bytes ("log" cache key).
    const payload = (entry.payload ??= JSON.parse(entry.data) as Record<string, unknown>);
    frame = wantsLog(filter, payload.level) ? (frames.get("log") ?? encodeFrame(entry)) : null;
    if (frame) frames.set("log", frame);
  } else if (!filter) {
    frame = encodeFrame(entry);
  } else if (!filter.names) {
    frame = frameFor(entry, null);
  } else {
    const payload = (entry.payload ??= JSON.parse(entry.data) as Record<string, unknown>);
    if (entry.event === EVENT.metric) {
      // Only the chosen metrics this sample carries; a sample with none of them is not sent.
      const narrowed: Record<string, unknown> = {};
      let carried = 0;
      for (const m of filter.names!) {
        if (!(m in payload)) continue;
        narrowed[m] = payload[m];
        carried++;
      }
      narrowed.timestamp = payload.timestamp;
      // Split metrics' series go with their metric.
      const series = payload.series as Record<string, unknown> | undefined;
      if (series) {
        const kept: Record<string, unknown> = {};
        let any = false;
        for (const m of filter.names!) {
          if (!(m in series)) continue;
          kept[m] = series[m];
          any = true;
        }
        if (any) narrowed.series = kept;
      }
      frame = carried > 0 ? encodeFrame({ id: entry.id, event: entry.event, data: JSON.stringify(narrowed) }) : null;
    } else if (entry.event === EVENT.alert && typeof payload.metric === "string") {
      frame = filter.names.includes(payload.metric) ? frameFor(entry, null) : null;
    } else {
      frame = frameFor(entry, null); // health results and check alerts reach every viewer
    }
  }
  frames.set(key, frame);
  return frame;
}

/** The frames of `entries` for `filter`, appended to `out`; returns how many were appended. */
export function framesFor(entries: Iterable<Entry>, filter: StreamFilter | null, out: Uint8Array[]): number {
  let n = 0;
  for (const e of entries) {
    const frame = frameFor(e, filter);
    if (!frame) continue;
    out.push(frame);
    n++;
  }
  return n;
}

interface Group {
  filter: StreamFilter | null;
  clients: Set<StreamClient>;
}

/** Read on every new stream, so a changed configuration applies to the next viewer. */
export interface StreamLimits {
  maxStreams: number;
  /** Streams one client address may hold here (requests without an address are not counted). */
  maxStreamsPerClient: number;
  retryMs: number;
  heartbeatSeconds: number;
}

/** A stream to catch up: what the Worker parsed, and when the stream was opened (`history` counts back from then). */
export interface StreamRequest extends StreamOpen {
  openedAt: number;
}

export interface FanoutHooks {
  /** What the 503 says serves the streams ("dashboard", "relay"). */
  what: string;
  /** The first stream opened (the object is now watched). */
  onFirst?: () => void;
  /** Every heartbeat while streams are open. */
  onTick?: () => void;
  /** The last stream closed. */
  onEmpty?: () => void;
}

export class Fanout {
  readonly clients = new Set<StreamClient>();
  private readonly groups = new Map<string, Group>();
  /** Open streams per client address, and each counted stream's address. */
  private readonly perAddress = new Map<string, number>();
  private readonly addressOf = new Map<StreamClient, string>();
  private heartbeat: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly hooks: FanoutHooks) {}

  get size(): number {
    return this.clients.size;
  }

  /**
   * Opens a stream: 503 past the cap, 429 past the client's own cap, else the SSE response at
   * once, with `catchUp` running behind it. `catchUp` writes history or what a resume missed and then calls `goLive()`;
   * if it throws, the stream is cut (the viewer resumes by id).
   */
  open(open: StreamOpen, limits: StreamLimits, catchUp: (client: StreamClient, req: StreamRequest) => Promise<void>): Response {
    if (this.clients.size >= limits.maxStreams) {
      // Existing viewers are untouched; the browser retries after its own `retry` delay.
      const error: ApiError = {
        error: "too_many_streams",
        message: `This ${this.hooks.what} already serves ${this.clients.size} streams; try again shortly`,
      };
      return Response.json(error, { status: 503, headers: { "Retry-After": String(10 + Math.floor(Math.random() * 20)) } });
    }
    // One address holding many streams must not lock out the next viewer (nor keep the object busy).
    const address = open.viewer?.address ?? null;
    const held = address === null ? 0 : (this.perAddress.get(address) ?? 0);
    if (held >= limits.maxStreamsPerClient) {
      const error: ApiError = {
        error: "too_many_streams_from_client",
        message: `Your address already holds ${held} streams of this ${this.hooks.what}; close some, or try again later`,
      };
      return Response.json(error, { status: 429, headers: { "Retry-After": String(30 + Math.floor(Math.random() * 30)) } });
    }
    // Per-client jitter spreads the reconnect storm after a deploy evicts this object.
    const retry = limits.retryMs + Math.floor(Math.random() * limits.retryMs);
    // A stream that cannot take two heartbeats in a row is stuck: cut it, it can resume by id.
    const stuckAfterMs = 2 * limits.heartbeatSeconds * 1000;
    const client = new StreamClient(open.filter, retryFrame(retry), stuckAfterMs, (c) => this.remove(c));
    this.add(client, limits.heartbeatSeconds);
    if (address !== null) {
      this.perAddress.set(address, held + 1);
      this.addressOf.set(client, address);
    }
    catchUp(client, { ...open, openedAt: Date.now() }).catch((err) => {
      console.error("stream catch-up failed", err);
      client.fail("catch-up failed");
    });
    return new Response(client.stream, { headers: SSE_HEADERS });
  }

  /**
   * Writes the catch-up bytes and makes the client live: from now on every broadcast reaches it.
   * Call it in the same synchronous run that read the last of `out` from memory, so that no
   * event can fall between them. Returns the number of events written.
   */
  goLive(client: StreamClient, out: Uint8Array[], events = out.length): number {
    if (client.closed) return 0;
    if (out.length > 0) client.write(concatBytes(out), false);
    client.live = true;
    this.groupFor(client.filter).clients.add(client);
    return events;
  }

  /** Sends `entries` to every live stream; returns the number of deliveries. */
  broadcast(entries: Entry[]): number {
    // A large batch (a burst of ingest, or the backlog after a log outage) goes out in slices,
    // so a viewer that is behind holds a bounded amount and loses whole old slices, not memory.
    let delivered = 0;
    for (let i = 0; i < entries.length; i += BROADCAST_SLICE) delivered += this.broadcastSlice(entries.slice(i, i + BROADCAST_SLICE));
    return delivered;
  }

  private broadcastSlice(entries: Entry[]): number {
    let delivered = 0;
    for (const group of this.groups.values()) {
      const chunks: Uint8Array[] = [];
      // Metric updates and log lines may be dropped for a viewer that is behind (the lines are
      // counted and reported); alerts and health results never are.
      let droppable = true;
      let logs = 0;
      for (const e of entries) {
        const frame = frameFor(e, group.filter);
        if (!frame) continue;
        chunks.push(frame);
        if (e.event === EVENT.log) logs++;
        else if (e.event !== EVENT.metric) droppable = false;
      }
      if (chunks.length === 0) continue;
      const bytes = concatBytes(chunks);
      for (const client of group.clients) {
        client.write(bytes, droppable, logs);
        delivered += chunks.length;
      }
    }
    return delivered;
  }

  /** Cuts every stream (each viewer reconnects and resumes by id). */
  failAll(reason: string): void {
    for (const c of [...this.clients]) c.fail(reason);
  }

  private groupFor(filter: StreamFilter | null): Group {
    const key = filter?.key ?? "*";
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = { filter, clients: new Set() }));
    return group;
  }

  private add(client: StreamClient, heartbeatSeconds: number): void {
    this.clients.add(client);
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => {
        const now = Date.now();
        for (const c of this.clients) c.tick(HEARTBEAT, now);
        this.hooks.onTick?.();
      }, heartbeatSeconds * 1000);
      this.hooks.onFirst?.();
    }
  }

  private remove(client: StreamClient): void {
    if (!this.clients.delete(client)) return;
    const address = this.addressOf.get(client);
    if (address !== undefined) {
      this.addressOf.delete(client);
      const held = this.perAddress.get(address)! - 1;
      if (held > 0) this.perAddress.set(address, held);
      else this.perAddress.delete(address);
    }
    const key = client.filter?.key ?? "*";
    const group = this.groups.get(key);
    group?.clients.delete(client);
    if (group && group.clients.size === 0) this.groups.delete(key);
    if (this.clients.size === 0) {
      // Nobody is watching: no timers.
      clearInterval(this.heartbeat!);
      this.heartbeat = null;
      this.hooks.onEmpty?.();
    }
  }
}
