// One Durable Object per dashboard. It is the dashboard's single writer (it assigns event ids
// and runs the alert rules, so concurrent publishers cannot reorder or race) and it delivers
// every event: to the SSE streams it holds itself (each event is encoded once per filter group
// and the same bytes are enqueued to every stream, synchronously, without awaiting any client),
// and, when viewers are placed on relay objects (RELAYS_PER_DASHBOARD), once to each relay.
import { DurableObject } from "cloudflare:workers";
import {
  compareEventIds,
  formatEventId,
  EVENT,
  nextEventId,
  parseEventId,
  type DashboardStats,
  type EventId,
  type EventLogHealth,
  type EventName,
  type Gap,
  type MetricSample,
} from "../contract/index.ts";
import { evaluateAlerts, type AlertState } from "../worker/alerts.ts";
import { readConfig, type Config } from "../worker/config.ts";
import type { EventLog, LogEntry } from "./event-log.ts";
import {
  Fanout,
  framesFor,
  gapFrame,
  idOrNull,
  toEntry,
  toLogEntry,
  type Entry,
  type StreamRequest,
} from "./fanout.ts";
import { createEventLog } from "./log-factory.ts";
import { historySince, RecentWindow } from "./recent-window.ts";
import type { RelayObject } from "./relay.ts";
import type { StreamClient } from "./stream-client.ts";

const LOG_PAGE = 1000;
/** While viewers are connected and no publish has come through, look in the log this often. */
const POLL_MS = 5_000;
// Trimming costs log commands (three with Upstash): every 5 minutes keeps that near 1 % of the
// appends at 1 Hz. Retention is an hour, so a few minutes late does not matter.
const TRIM_EVERY_MS = 5 * 60_000;
const RETRY_APPEND_MS = [500, 1000, 2000, 5000];
/** Entries per replay answer; a longer replay is paged (`more`). */
export const REPLAY_LIMIT = 5000;
/** Pushes to one relay still unanswered; past this the relay is dropped (it heals when it re-subscribes). */
const MAX_PUSHES_IN_FLIGHT = 64;
/** A relay that has not re-subscribed for this many heartbeats is forgotten. */
const RELAY_EXPIRY_HEARTBEATS = 3;
/** How long stats() waits for a relay's count. */
const RELAY_REPORT_TIMEOUT_MS = 2000;

export interface PublishRequest {
  samples: MetricSample[];
  /** With `seq`: a publisher's own sequence; a (source, seq) seen before is not published twice. */
  source?: string;
  seq?: number;
}

export interface PublishResult {
  /** Every event the publish produced, in id order: its metric updates and any alerts. */
  ids: string[];
  events: { id: string; event: EventName }[];
  duplicate?: boolean;
}

// ---- the relay protocol (see durable-objects/relay.ts) -------------------------------------

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

interface RelayLink {
  session: string;
  stub: DurableObjectStub<RelayObject>;
  viewers: number;
  seenAt: number;
  inFlight: number;
}

/** The first, asynchronous part of history or resume; the window part follows synchronously. */
interface LogPart {
  gap: Gap | null;
  logged: Entry[];
  /** The window part starts after this id (null: at `sinceMs`). */
  after: EventId | null;
  sinceMs: number;
  /** False when reading stopped at `limit` before the window took over. */
  complete: boolean;
}

interface PersistedState {
  /** Last id assigned (events up to it may still be in the outbox). */
  lastId: string | null;
  /** Last id known to be in the log. */
  committedId: string | null;
  alertState: AlertState;
  lastSeq: Record<string, number>;
  published: number;
  delivered: number;
}

export class DashboardObject extends DurableObject<Env> {
  private readonly config: Config;
  private readonly log: EventLog;
  private state: PersistedState = {
    lastId: null,
    committedId: null,
    alertState: {},
    lastSeq: {},
    published: 0,
    delivered: 0,
  };
  /** Last id assigned; ids of events still in the outbox are above `lastCommitted`. */
  private lastAssigned: EventId | null = null;
  private lastCommitted: EventId | null = null;
  private health: EventLogHealth;

  /** Recent committed events, in memory. */
  private readonly window = new RecentWindow(() => this.config.retentionSeconds);
  private windowLoad: Promise<void> | null = null;

  /** The streams this object holds itself (viewers not placed on relays). */
  private readonly fanout: Fanout;
  /** Relays that hold viewers of this dashboard, by name; each gets every commit pushed once. */
  private readonly relays = new Map<string, RelayLink>();
  /** Runs while anyone watches (streams here or relays): log polling, relay expiry. */
  private poller: ReturnType<typeof setInterval> | null = null;

  /** Events accepted but not yet in the log; appended in order by one chain. */
  private outbox: Entry[] = [];
  private chain: Promise<void> = Promise.resolve();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private appendFailures = 0;
  private lastCommitAt = 0;
  private lastTrimAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = readConfig(env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS outbox (
      ms INTEGER NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, data TEXT NOT NULL,
      PRIMARY KEY (ms, seq)) WITHOUT ROWID`);
    this.log = createEventLog(this.config, { dashboard: ctx.id.name ?? ctx.id.toString(), sql: ctx.storage.sql });
    this.health = { backend: this.log.backend, status: "ok" };
    this.fanout = new Fanout({ what: "dashboard", onFirst: () => this.watch(), onEmpty: () => this.watch() });
    ctx.blockConcurrencyWhile(async () => {
      const [row] = ctx.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'state'").toArray();
      if (row) this.state = { ...this.state, ...(JSON.parse(row.value) as PersistedState) };
      let committed = parseEventId(this.state.committedId);
      try {
        const logged = parseEventId(await this.log.lastId());
        if (logged && (!committed || compareEventIds(logged, committed) > 0)) committed = logged;
      } catch (err) {
        this.degrade(err); // the log is unreachable: start from our own record, catch up later
      }
      // Events accepted before a restart but not yet in the log go out first. Ids at or below
      // the log's last id did reach it (we are its only writer and append in order).
      this.outbox = ctx.storage.sql
        .exec<{ ms: number; seq: number; event: string; data: string }>("SELECT * FROM outbox ORDER BY ms, seq")
        .toArray()
        .map((r) => toEntry({ id: formatEventId(r), event: r.event as EventName, data: r.data }))
        .filter((e) => !committed || compareEventIds(e.key, committed) > 0);
      const assigned = parseEventId(this.state.lastId);
      this.lastAssigned = assigned && (!committed || compareEventIds(assigned, committed) > 0) ? assigned : committed;
      this.lastCommitted = this.window.coveredAfter = committed;
      if (this.outbox.length > 0) this.scheduleRetry();
    });
  }

  // ---- publishing --------------------------------------------------------------------------

  async publish(request: PublishRequest): Promise<PublishResult> {
    const { source, seq } = request;
    if (source !== undefined && seq !== undefined) {
      const seen = this.state.lastSeq[source];
      if (seen !== undefined && seq <= seen) return { ids: [], events: [], duplicate: true };
      this.state.lastSeq[source] = seq;
    }
    const entries: Entry[] = [];
    for (const sample of request.samples) {
      const { alerts, state } = evaluateAlerts(sample, this.state.alertState);
      this.state.alertState = state;
      entries.push(this.newEntry(EVENT.metric, sample));
      for (const alert of alerts) entries.push(this.newEntry(EVENT.alert, alert));
    }
    this.state.published += entries.length;
    this.state.lastId = formatEventId(this.lastAssigned!);
    this.saveState();
    if (!this.log.inObjectStorage) {
      // Durable before we answer: a publish that returned ids is never lost, even if the log
      // is down and this object is evicted before it comes back.
      for (const e of entries) {
        this.ctx.storage.sql.exec("INSERT INTO outbox (ms, seq, event, data) VALUES (?, ?, ?, ?)", e.key.ms, e.key.seq, e.event, e.data);
      }
    }
    this.outbox.push(...entries);
    // With the log in our own storage the append is immediate. A remote log may be slow or down:
    // the outbox rows are already durable, so answer now and let the append catch up.
    if (this.log.inObjectStorage) await this.flush();
    else void this.flush();
    return { ids: entries.map((e) => e.id), events: entries.map(({ id, event }) => ({ id, event })) };
  }

  private newEntry(event: EventName, payload: object): Entry {
    const key = nextEventId(this.lastAssigned, Date.now());
    this.lastAssigned = key;
    return { id: formatEventId(key), key, event, data: JSON.stringify(payload), payload: payload as Record<string, unknown> };
  }

  private saveState(): void {
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('state', ?)", JSON.stringify(this.state));
  }

  /** Appends the outbox in order, then delivers; on failure keeps it and retries with backoff. */
  private flush(): Promise<void> {
    this.chain = this.chain.then(async () => {
      while (this.outbox.length > 0) {
        const batch = this.outbox.slice();
        try {
          await this.log.append(batch);
        } catch (err) {
          this.degrade(err);
          this.scheduleRetry();
          return;
        }
        this.outbox.splice(0, batch.length);
        this.recover();
        this.commit(batch);
        const last = batch[batch.length - 1]!.key;
        this.state.committedId = formatEventId(last);
        if (!this.log.inObjectStorage) {
          this.ctx.storage.sql.exec("DELETE FROM outbox WHERE ms < ? OR (ms = ? AND seq <= ?)", last.ms, last.ms, last.seq);
        }
        this.saveState();
      }
      await this.maybeTrim();
    });
    return this.chain;
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    const delay = RETRY_APPEND_MS[Math.min(Math.max(this.appendFailures - 1, 0), RETRY_APPEND_MS.length - 1)]!;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.flush();
    }, delay);
  }

  private async maybeTrim(): Promise<void> {
    const now = Date.now();
    if (now - this.lastTrimAt < TRIM_EVERY_MS) return;
    this.lastTrimAt = now;
    try {
      await this.log.trim(now - this.config.retentionSeconds * 1000);
    } catch (err) {
      console.warn("event log trim failed", err);
    }
  }

  /** Events are in the log: remember them in the window and send them to every live stream and relay. */
  private commit(entries: Entry[]): void {
    const prev = this.lastCommitted;
    this.lastCommitted = entries[entries.length - 1]!.key;
    this.lastCommitAt = Date.now();
    this.window.push(entries);
    if (this.fanout.size > 0) this.state.delivered += this.fanout.broadcast(entries);
    if (this.relays.size > 0) this.push(prev, entries);
  }

  /** One RPC per relay per commit, none awaited in turn; a relay that fails or lags is dropped. */
  private push(prev: EventId | null, entries: Entry[]): void {
    const batch: DeliverBatch = { prevId: idOrNull(prev), entries: entries.map(toLogEntry) };
    for (const [name, link] of this.relays) {
      if (link.inFlight >= MAX_PUSHES_IN_FLIGHT) {
        this.dropRelay(name, link); // stuck: it finds the gap and heals when it re-subscribes
        continue;
      }
      link.inFlight++;
      link.stub.deliver(batch).then(
        (keep) => {
          link.inFlight--;
          if (!keep) this.dropRelay(name, link); // it has no viewers any more
        },
        (err: unknown) => {
          link.inFlight--;
          console.warn(`push to relay ${name} failed`, err);
          this.dropRelay(name, link);
        },
      );
    }
  }

  /** Picks up events another writer appended to the log (only while someone is watching). */
  private poll(): void {
    this.expireRelays();
    if (Date.now() - this.lastCommitAt < POLL_MS || this.outbox.length > 0) return;
    this.chain = this.chain.then(async () => {
      if (!this.lastCommitted || this.outbox.length > 0) return;
      try {
        const found = await this.log.readAfter(formatEventId(this.lastCommitted), LOG_PAGE);
        this.recover();
        if (found.length === 0) return;
        const entries = found.map(toEntry);
        this.lastAssigned = entries[entries.length - 1]!.key;
        this.commit(entries);
      } catch (err) {
        this.degrade(err);
      }
    });
  }

  // ---- streaming ---------------------------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    const { maxStreamsPerDashboard: maxStreams, retryMs, heartbeatSeconds } = this.config;
    return this.fanout.open(request, { maxStreams, retryMs, heartbeatSeconds }, (client, req) => this.catchUp(client, req));
  }

  /** Writes history (or what a resuming client missed), then makes the client live. */
  private async catchUp(client: StreamClient, { rawResume, historySeconds, openedAt }: StreamRequest): Promise<void> {
    const sinceMs = historySince(openedAt, historySeconds, this.config.retentionSeconds);
    const part = await this.fromLog(rawResume, sinceMs, () => client.closed);
    if (!part || client.closed) return;
    // From memory, synchronously up to the moment the client turns live: no gap, no repeat.
    const out: Uint8Array[] = [];
    if (part.gap) out.push(gapFrame(part.gap));
    framesFor(part.logged, client.filter, out);
    framesFor(this.window.since(part.after, part.sinceMs), client.filter, out);
    this.state.delivered += this.fanout.goLive(client, out);
  }

  /**
   * History or resume for a relay: exactly what a viewer connecting here with the same
   * Last-Event-ID and `history` would be sent before going live, and the id it would go live at.
   */
  async replay({ lastEventId, sinceMs }: ReplayRequest): Promise<ReplayResult> {
    const part = (await this.fromLog(lastEventId, sinceMs, () => false, REPLAY_LIMIT))!;
    // Synchronously from here on: `through` is exactly what the entries reach.
    let entries = part.logged;
    let through = this.lastCommitted;
    if (part.complete) entries = entries.concat(this.window.since(part.after, part.sinceMs));
    else through = part.after;
    const more = !part.complete || entries.length > REPLAY_LIMIT;
    if (entries.length > REPLAY_LIMIT) {
      entries = entries.slice(0, REPLAY_LIMIT);
      through = entries[entries.length - 1]!.key;
    }
    return { gap: part.gap, entries: entries.map(toLogEntry), through: idOrNull(through), sinceMs: part.sinceMs, more };
  }

  /**
   * The asynchronous part of history or resume: the gap notice, and the events that must come
   * from the log because the window does not hold them. Null when `cancelled` turns true.
   */
  private async fromLog(
    rawResume: string | null,
    requestedSinceMs: number,
    cancelled: () => boolean,
    limit = Infinity,
  ): Promise<LogPart | null> {
    await this.ensureWindow();
    let after = parseEventId(rawResume); // malformed: a fresh connect
    this.window.trim(); // drop what aged out of retention since the last publish
    const retained = Date.now() - this.config.retentionSeconds * 1000;
    const sinceMs = Math.max(requestedSinceMs, retained);
    let gap: Gap | null = null;

    if (after) {
      if (this.lastCommitted === null || compareEventIds(after, this.lastCommitted) > 0) {
        // An id this dashboard never issued (its log was reset): say so, then send history.
        gap = { lastEventId: rawResume!, oldestId: null, message: "unknown event id; sending recent history instead" };
        after = null;
      } else if (!this.window.covers(after, sinceMs)) {
        // Only a resume point older than the window can have lost events to trimming; the
        // common reconnect is served from memory without touching the log (even while it is down).
        const trimmed = parseEventId(await this.log.trimmedThrough());
        if (trimmed && compareEventIds(after, trimmed) < 0) {
          gap = { lastEventId: rawResume!, oldestId: formatEventId(trimmed), message: "events after this id are no longer retained" };
          after = trimmed;
        }
      }
    }

    // From the log: whatever the window does not cover.
    const logged: Entry[] = [];
    let complete = true;
    while (!this.window.covers(after, sinceMs)) {
      if (logged.length >= limit) {
        complete = false;
        break;
      }
      const page = after ? await this.log.readAfter(formatEventId(after), LOG_PAGE) : await this.log.readSince(sinceMs, LOG_PAGE);
      if (cancelled()) return null;
      for (const raw of page) {
        const e = toEntry(raw);
        if (this.window.holds(e.key)) break;
        after = e.key;
        logged.push(e);
      }
      if (page.length < LOG_PAGE) break;
    }
    return { gap, logged, after, sinceMs, complete };
  }

  /** After a cold start the window is empty: fill it from the log once, for every viewer. */
  private ensureWindow(): Promise<void> {
    this.windowLoad ??= this.loadWindow().catch((err) => {
      this.windowLoad = null;
      throw err;
    });
    return this.windowLoad;
  }

  private async loadWindow(): Promise<void> {
    const sinceMs = this.window.start();
    if (this.window.covers(null, sinceMs)) return;
    const loaded: Entry[] = [];
    let page = await this.log.readSince(sinceMs, LOG_PAGE);
    for (;;) {
      for (const raw of page) {
        const e = toEntry(raw);
        if (this.window.holds(e.key)) break;
        loaded.push(e);
      }
      const last = loaded[loaded.length - 1];
      const covered = this.window.coveredAfter;
      if (page.length < LOG_PAGE || !last || (covered && compareEventIds(last.key, covered) >= 0)) break;
      page = await this.log.readAfter(last.id, LOG_PAGE);
    }
    // Only what is older than the window's first entry: anything newer was committed meanwhile.
    const first = this.window.entries[0];
    const older = first ? loaded.filter((e) => compareEventIds(e.key, first.key) < 0) : loaded;
    this.window.reset([...older, ...this.window.entries], { ms: sinceMs - 1, seq: Number.MAX_SAFE_INTEGER });
  }

  // ---- relays ------------------------------------------------------------------------------

  /**
   * A relay with viewers subscribes, and again every heartbeat (so an object that restarted
   * learns its relays again). From then on it gets every commit; the answer is the last id
   * committed before that, so the relay knows where the pushes continue.
   */
  async subscribe({ relay, session, viewers, delivered }: SubscribeRequest): Promise<{ lastId: string | null }> {
    if (!relay.startsWith(`${this.ctx.id.name}:`)) throw new TypeError(`relay ${relay} does not belong to dashboard ${this.ctx.id.name}`);
    this.state.delivered += delivered;
    let link = this.relays.get(relay);
    if (!link || link.session !== session) {
      link = { session, stub: this.env.RELAY.getByName(relay), viewers, seenAt: 0, inFlight: 0 };
      this.relays.set(relay, link);
    }
    link.viewers = viewers;
    link.seenAt = Date.now();
    this.watch();
    return { lastId: idOrNull(this.lastCommitted) };
  }

  /** The relay's last viewer left. */
  async unsubscribe({ relay, session, delivered }: Omit<SubscribeRequest, "viewers">): Promise<void> {
    this.state.delivered += delivered;
    const link = this.relays.get(relay);
    if (link?.session === session) this.dropRelay(relay, link);
  }

  private dropRelay(name: string, link: RelayLink): void {
    if (this.relays.get(name) !== link) return;
    this.relays.delete(name);
    this.watch();
  }

  /** Starts or stops the poller as viewers come and go (here or on relays). */
  private watch(): void {
    const watched = this.fanout.size > 0 || this.relays.size > 0;
    if (watched && !this.poller) {
      this.poller = setInterval(() => this.poll(), POLL_MS);
    } else if (!watched && this.poller) {
      // Nobody is watching: no timers, no reads.
      clearInterval(this.poller);
      this.poller = null;
    }
  }

  /** Relays that stopped re-subscribing (evicted without a word) are forgotten. */
  private expireRelays(): void {
    const before = Date.now() - RELAY_EXPIRY_HEARTBEATS * this.config.heartbeatSeconds * 1000;
    for (const [name, link] of this.relays) if (link.seenAt < before) this.dropRelay(name, link);
  }

  // ---- observability -----------------------------------------------------------------------

  async stats(): Promise<DashboardStats> {
    const last = this.lastCommitted;
    const relays = await this.relayReports();
    return {
      dashboard: this.ctx.id.name ?? "",
      connectedClients: this.fanout.size + relays.reduce((sum, r) => sum + r.viewers, 0),
      relays: relays.filter((r) => r.viewers > 0).length,
      lastEventId: last ? formatEventId(last) : null,
      lastEventTime: last ? new Date(last.ms).toISOString() : null,
      eventsPublished: this.state.published,
      eventsDelivered: this.state.delivered,
      retentionSeconds: this.config.retentionSeconds,
      eventLog: { ...this.health },
    };
  }

  /**
   * Viewers and deliveries on this dashboard's relays, asked of every configured relay (a
   * relay that does not answer in time counts with what it said when it last subscribed).
   */
  private async relayReports(): Promise<RelayReport[]> {
    const name = this.ctx.id.name;
    if (this.config.relaysPerDashboard === 0 || !name) return [];
    return Promise.all(
      Array.from({ length: this.config.relaysPerDashboard }, async (_, i): Promise<RelayReport> => {
        const relay = `${name}:${i}`;
        let timer: ReturnType<typeof setTimeout> | undefined;
        try {
          const report = await Promise.race([
            this.env.RELAY.getByName(relay).report(),
            new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), RELAY_REPORT_TIMEOUT_MS))),
          ]);
          this.state.delivered += report.delivered;
          return { viewers: report.viewers, delivered: report.delivered };
        } catch {
          return { viewers: this.relays.get(relay)?.viewers ?? 0, delivered: 0 };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }

  private degrade(err: unknown): void {
    this.appendFailures++;
    const reason = err instanceof Error ? err.message : String(err);
    if (this.health.status !== "degraded") console.error(`event log degraded: ${reason}`);
    this.health = { backend: this.log.backend, status: "degraded", reason };
  }

  private recover(): void {
    if (this.health.status === "ok") return;
    this.appendFailures = 0;
    this.health = { backend: this.log.backend, status: "ok" };
  }
}
