// One Durable Object per dashboard. It is the dashboard's single writer (sequencer.ts assigns
// the ids and runs the alert rules, so concurrent publishers cannot reorder or race) and it
// delivers every event: to the SSE streams it holds itself (each event is encoded once per
// filter group and the same bytes are enqueued to every stream, synchronously, without awaiting
// any client), and, when viewers are placed on relay objects (RELAYS_PER_DASHBOARD), once to each
// relay. Its parts, by role: append-chain.ts (the write path to the log), catch-up.ts (history
// and resume), relay-hub.ts (the relays), ../streams/fanout.ts (the viewers), ../history/ (the
// downsampled buckets), ../ingest/ (points to samples), ../notify/ (alerts sent to chat, pagers
// and webhooks, from a durable queue its alarm drains). Its RPC surface is core/rpc.ts's
// DashboardRpc; every request it gets was parsed and checked by the Worker.
import { DurableObject } from "cloudflare:workers";
import {
  compareEventIds,
  EVENT,
  formatEventId,
  parseEventId,
  type CheckState,
  type DashboardDef,
  type DashboardStats,
  type EventId,
  type NotificationsAnswer,
  type NotificationTestAnswer,
} from "../../contract/index.ts";
import { dashboardDef, readConfig, type Config } from "../../core/config/index.ts";
import type {
  DashboardRpc,
  IngestSamplesRequest,
  PublishLogsRequest,
  PublishPointsRequest,
  PublishPointsResult,
  PublishRequest,
  PublishResult,
  RecordCheckRequest,
  ReplayRequest,
  ReplayResult,
  SeriesRequest,
  SeriesResult,
  StreamOpen,
  SubscribeRequest,
} from "../../core/rpc.ts";
import { AlarmScheduler } from "../alarms/scheduler.ts";
import { countAfter, type EventLog } from "../event-log/event-log.ts";
import { createEventLog } from "../event-log/factory.ts";
import { HistoryFeed } from "../history/history-feed.ts";
import { Rollups } from "../history/rollups.ts";
import { CounterStore } from "../ingest/counter-rates.ts";
import { assemble } from "../ingest/point-samples.ts";
import { partialOf, SplitSeries } from "../ingest/split-series.ts";
import { notifierFor, type Notifier } from "../notify/notifier.ts";
import { Fanout, framesFor, gapFrame, idOrNull, toLogEntry, type Entry, type StreamRequest } from "../streams/fanout.ts";
import { historySince } from "../streams/recent-window.ts";
import type { StreamClient } from "../streams/stream-client.ts";
import { AppendChain } from "./append-chain.ts";
import { CatchUp } from "./catch-up.ts";
import { applyRun, NEW_CHECK, stateOf } from "./check-state.ts";
import { TokenBucket } from "./rate-limit.ts";
import { RelayHub } from "./relay-hub.ts";
import { Sequencer } from "./sequencer.ts";
import { SimulationBridge } from "./simulation.ts";
import { SIMULATOR } from "../../core/simulation/tick.ts";
import { StateStore } from "./state.ts";
import { StorageMeter } from "../storage/meter.ts";

/** While viewers are connected and no publish has come through, look in the log this often. */
const POLL_MS = 5_000;
/** Entries per replay answer; a longer replay is paged (`more`). */
export const REPLAY_LIMIT = 5000;

export class DashboardObject extends DurableObject<Env> implements DashboardRpc {
  private readonly config: Config;
  private readonly def: DashboardDef;
  private readonly log: EventLog;
  /** Every statement goes through it: rows read and written, for `stats().storage`. */
  private readonly meter: StorageMeter;
  private readonly store: StateStore;
  private readonly seq: Sequencer;
  /** The sequences are checked against the recent window once after a start (rebuildSequences). */
  private sequencesReady: Promise<void> | null = null;
  /** A change the next commit must write at once (a check's streak), besides alerts. */
  private urgent = false;
  private readonly simulation: SimulationBridge;
  private lastCommitted: EventId | null = null;
  private lastCommitAt = 0;

  private readonly appends: AppendChain;
  private readonly history: CatchUp;
  /** The streams this object holds itself (viewers not placed on relays). */
  private readonly fanout: Fanout;
  private readonly hub: RelayHub;
  /** History buckets for GET …/series (history-feed.ts). */
  private readonly feed: HistoryFeed;
  /** Runs while anyone watches (streams here or relays): log polling, relay expiry. */
  private poller: ReturnType<typeof setInterval> | null = null;
  private readonly logBucket: TokenBucket;
  private readonly pointBucket: TokenBucket;
  private readonly counters: CounterStore; // counter → rate state per OTLP series
  /** Split metrics' live series (ingest/split-series.ts), relearnt from the recent window once after a start. */
  private readonly splits: SplitSeries;
  private splitsReady: Promise<void> | null = null;
  /** The object's one alarm, shared by its timers (today the notifications' queue). */
  private readonly alarms: AlarmScheduler;
  /** Null when no channel is configured for this dashboard: nothing stored, nothing scheduled. */
  private readonly notifier: Notifier | null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = (this.meter = new StorageMeter(ctx.storage.sql));
    this.config = readConfig(env);
    this.def = dashboardDef(this.config, ctx.id.name);
    this.store = new StateStore(sql);
    this.seq = new Sequencer(this.def, this.state);
    this.simulation = new SimulationBridge(
      this.def,
      this.config,
      (request) => this.publishSequenced(request),
      (ticks) => this.publishBackfill(ticks),
      async () => {
        await (this.sequencesReady ??= this.rebuildSequences());
        return this.state.lastSeq[SIMULATOR];
      },
    );
    this.logBucket = new TokenBucket(this.config.logRate.perSecond, this.config.logRate.burst);
    this.pointBucket = new TokenBucket(this.config.pointRate.perSecond, this.config.pointRate.burst);
    this.counters = new CounterStore(sql);
    this.splits = new SplitSeries(this.def);
    this.log = createEventLog(this.config, { dashboard: ctx.id.name ?? ctx.id.toString(), sql });
    const retention = () => this.config.retentionSeconds;
    const rollups = new Rollups(ctx.storage, sql, () => this.config.historyDays);
    this.appends = new AppendChain(
      this.log,
      sql,
      retention,
      (batch) => this.commit(batch),
      (now) => rollups.trim(now),
    );
    this.feed = new HistoryFeed(rollups, () => this.log, this.appends);
    this.history = new CatchUp(this.log, retention, () => this.lastCommitted);
    this.fanout = new Fanout({ what: "dashboard", onFirst: () => this.watch(), onEmpty: () => this.watch() });
    this.hub = new RelayHub(env, ctx.id.name, this.config, () => this.watch());
    this.alarms = new AlarmScheduler(ctx.storage);
    this.notifier = notifierFor(this.config, this.def, sql, () => this.alarms.arm());
    if (this.notifier) {
      this.alarms.add("notify", this.notifier);
      this.alarms.arm(); // messages a restart found queued
    }
    ctx.blockConcurrencyWhile(async () => {
      let committed = parseEventId(this.state.committedId);
      try {
        const logged = parseEventId(await this.log.lastId());
        if (logged && (!committed || compareEventIds(logged, committed) > 0)) {
          // The count is saved with the state, not on every publish: what the log holds past the save is counted again.
          this.state.published += await countAfter(this.log, committed ? formatEventId(committed) : "0-0");
          committed = logged;
        }
        // What the history buckets lack (a crash after a log append, a log ahead of us) first.
        await this.feed.rollups.catchUp(this.log);
      } catch (err) {
        this.appends.degrade(err); // the log is unreachable: start from our own record, catch up later
      }
      this.appends.restore(committed);
      const assigned = parseEventId(this.state.lastId);
      this.seq.lastAssigned = assigned && (!committed || compareEventIds(assigned, committed) > 0) ? assigned : committed;
      this.lastCommitted = this.history.window.coveredAfter = committed;
    });
  }

  /** The recent-events window (tests and relays' twin reach it by this name). */
  private get window() {
    return this.history.window;
  }

  /** Settles once every publish so far is in the log and delivered. */
  private get chain(): Promise<void> {
    return this.appends.chain;
  }

  private get state() {
    return this.store.value;
  }

  // ---- publishing --------------------------------------------------------------------------

  async publish(request: PublishRequest): Promise<PublishResult> {
    if (request.source === SIMULATOR) {
      // An unwatched simulated dashboard takes no ticks: it costs nothing while nobody looks.
      if (!this.isWatched()) return { ids: [], events: [], unwatched: true };
      this.simulation.cronTick();
    }
    return this.publishSequenced(request);
  }

  /**
   * JSON ingest: past the point rate nothing is published (samples and their values count like
   * OTLP points); nor when a split metric's series is refused (past its maxSeries).
   */
  async ingestSamples({ samples, points }: IngestSamplesRequest): Promise<PublishResult | { retryAfterMs: number } | { refused: string }> {
    const allowed = this.pointBucket.take(points);
    if (!allowed.ok) return { retryAfterMs: allowed.retryAfterMs };
    if (!this.splits.any) return this.emit(this.seq.samples(samples));
    await this.splitsLearnt();
    const done = this.splits.complete(samples.map(partialOf));
    if (done.refused.count > 0) return { refused: done.refused.reasons.join("; ").replace(/^metric "([^"]+)": /, "$1: ") };
    done.apply();
    return this.emit(this.seq.samples(done.samples, done.gone));
  }

  /** After a start, the split metrics' live series come from the recent window (the log read once). */
  private splitsLearnt(): Promise<void> {
    return (this.splitsReady ??= this.history.ensureWindow().then(
      () => this.splits.learn(this.window.entries, this.state.alertState),
      () => {}, // the log cannot be read: the series are learnt afresh from what comes
    ));
  }

  async watched(): Promise<boolean> {
    return this.isWatched();
  }

  private async publishSequenced({ samples, logs = [], source, seq }: PublishRequest): Promise<PublishResult> {
    if (source !== undefined) await (this.sequencesReady ??= this.rebuildSequences());
    if (this.seq.duplicate(source, seq)) return { ids: [], events: [], duplicate: true };
    this.store.touch();
    const entries = this.seq.samples(samples);
    for (const line of logs) entries.push(this.seq.entry(EVENT.log, line));
    return this.emit(entries);
  }

  /**
   * The simulator's ticks a first viewer missed, in one commit. Their ids carry their tick's
   * time (as if the cron had published them then, where that is after the last id), so
   * `history=` counts them where they belong and a viewer asking for none gets none.
   */
  private async publishBackfill(ticks: PublishRequest[]): Promise<void> {
    await (this.sequencesReady ??= this.rebuildSequences());
    const fresh = ticks.filter((t) => t.seq! > (this.state.lastSeq[SIMULATOR] ?? -Infinity));
    if (fresh.length === 0 || this.seq.duplicate(SIMULATOR, fresh.at(-1)!.seq)) return;
    const entries: Entry[] = [];
    for (const { samples, logs = [], seq } of fresh) {
      entries.push(...this.seq.samples(samples, [], seq));
      for (const line of logs) entries.push(this.seq.entry(EVENT.log, line, seq));
    }
    for (const e of entries) e.backdated = true;
    await this.emit(entries);
  }

  /**
   * After a start the sequences come from the last checkpoint, which may be behind: a sequenced
   * publisher's last tick is at least the newest sample in the recent window (its `seq` is the
   * time its samples carry), so a tick retried across a restart is still refused.
   */
  private async rebuildSequences(): Promise<void> {
    try {
      await this.history.ensureWindow();
    } catch {
      return; // the log cannot be read: the checkpoint's sequences will do
    }
    const entries = this.window.entries;
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (e.event !== EVENT.metric) continue;
      const ts = Date.parse(String((e.payload ??= JSON.parse(e.data) as Record<string, unknown>).timestamp));
      for (const source of [SIMULATOR, ...Object.keys(this.state.lastSeq)])
        this.state.lastSeq[source] = Math.max(this.state.lastSeq[source] ?? -Infinity, ts);
      return;
    }
  }

  /** OTLP / line-protocol points (ingest/point-samples.ts): past the point rate nothing is published; one commit. */
  async publishPoints({ batches, points, atomic }: PublishPointsRequest): Promise<PublishPointsResult> {
    const allowed = this.pointBucket.take(points);
    if (!allowed.ok) return { retryAfterMs: allowed.retryAfterMs };
    if (this.splits.any) await this.splitsLearnt();
    const { samples, gone, keepSeries, refused, counters, rebased } = assemble(
      this.def,
      batches,
      (key) => this.counters.get(key),
      this.splits,
    );
    if (atomic && refused.count > 0) return { ids: [], events: [], refused, published: false };
    this.counters.save(counters, rebased);
    keepSeries();
    const result = samples.length > 0 ? await this.emit(this.seq.samples(samples, gone)) : { ids: [], events: [] };
    return { ...result, refused, published: true };
  }

  /** Log lines, all or none: past the dashboard's log rate nothing is published. */
  async publishLogs({ lines }: PublishLogsRequest): Promise<PublishResult | { retryAfterMs: number }> {
    const allowed = this.logBucket.take(lines.length);
    if (!allowed.ok) return { retryAfterMs: allowed.retryAfterMs };
    return this.emit(lines.map((line) => this.seq.entry(EVENT.log, line)));
  }

  /** One run of a health check (from the cron Worker): its `health` event, and an alert when its status changes. */
  async recordCheck({ name, run }: RecordCheckRequest): Promise<PublishResult> {
    const def = this.def.checks.find((c) => c.name === name);
    if (!def) throw new TypeError(`dashboard ${this.def.id} has no check "${name}"`);
    const prev = this.state.checks[name] ?? NEW_CHECK;
    const applied = applyRun(def, prev, run);
    if (!applied) return { ids: [], events: [], duplicate: true };
    this.state.checks[name] = applied.record;
    // A change of status or streak is written with the run's commit; a steady run waits for a checkpoint.
    if (applied.record.streak !== prev.streak || applied.record.status !== prev.status) this.urgent = true;
    this.store.touch();
    const entries = [this.seq.entry(EVENT.health, applied.health)];
    if (applied.alert) entries.push(this.seq.entry(EVENT.alert, applied.alert));
    return this.emit(entries);
  }

  /** Every check's last state, for `GET /api/dashboards/:id/checks`. */
  async checks(): Promise<CheckState[]> {
    return this.def.checks.map((c) => stateOf(c, this.state.checks[c.name]));
  }

  /** Records and appends new entries; durable before it answers: a publish that returned ids is never lost. */
  private async emit(entries: Entry[]): Promise<PublishResult> {
    this.state.published += entries.length;
    this.store.touch();
    await this.appends.accept(entries);
    return { ids: entries.map((e) => e.id), events: entries.map(({ id, event }) => ({ id, event })) };
  }

  /** Events are in the log: remember them in the window and send them to every live stream and relay. */
  private commit(entries: Entry[]): void {
    const prev = this.lastCommitted;
    this.lastCommitted = entries[entries.length - 1]!.key;
    this.lastCommitAt = Date.now();
    this.window.push(entries);
    this.feed.add(entries);
    if (this.fanout.size > 0) this.state.delivered += this.fanout.broadcast(entries);
    if (this.hub.size > 0) this.hub.push(prev, entries);
    // Queued in the same synchronous run as the append (one transaction with the SQLite log); a
    // failure here must not stop the events, which are already in the log.
    try {
      this.notifier?.committed(entries.filter((e) => !e.backdated));
    } catch (err) {
      console.error("notifications could not be queued", err);
    }
    // Alert levels and check streaks are written with the commit that carries them (the log has
    // the alerts, so a restart never raises one twice); the rest waits for a checkpoint.
    this.state.lastId = idOrNull(this.seq.lastAssigned);
    this.state.committedId = formatEventId(this.lastCommitted);
    if (this.urgent || entries.some((e) => e.event === EVENT.alert)) {
      this.urgent = false;
      this.store.save();
    } else this.store.checkpoint();
  }

  /** Picks up events another writer appended to the log (only while someone is watching). */
  private poll(): void {
    this.hub.expire();
    if (Date.now() - this.lastCommitAt < POLL_MS || this.appends.outbox.length > 0) return;
    void this.appends.then(async () => {
      if (!this.lastCommitted || this.appends.outbox.length > 0) return;
      try {
        const entries = await this.history.readAfter(this.lastCommitted);
        this.appends.recover();
        if (entries.length === 0) return;
        this.seq.lastAssigned = entries[entries.length - 1]!.key;
        this.commit(entries);
      } catch (err) {
        this.appends.degrade(err);
      }
    });
  }

  private isWatched(): boolean {
    return this.fanout.size > 0 || this.hub.size > 0;
  }

  /** Starts or stops the poller (and the simulation while the cron is not there) as viewers come and go, here or on relays. */
  private watch(): void {
    const watched = this.isWatched();
    this.simulation.watch(watched);
    if (watched && !this.poller) {
      this.poller = setInterval(() => this.poll(), POLL_MS);
    } else if (!watched && this.poller) {
      // Nobody is watching: no timers, no reads.
      clearInterval(this.poller);
      this.poller = null;
    }
  }

  // ---- history ------------------------------------------------------------------------------

  async series(request: SeriesRequest): Promise<SeriesResult> {
    return this.feed.series(request, this.def);
  }

  // ---- streaming ---------------------------------------------------------------------------

  async openStream(open: StreamOpen): Promise<Response> {
    const limits = { ...this.config, maxStreams: this.config.maxStreamsPerDashboard };
    return this.fanout.open(open, limits, (client, req) => this.catchUp(client, req));
  }

  /** Writes history (or what a resuming client missed), then makes the client live. */
  private async catchUp(client: StreamClient, { resumeId, historySeconds, openedAt }: StreamRequest): Promise<void> {
    const sinceMs = historySince(openedAt, historySeconds, this.config.retentionSeconds);
    await this.simulation.backfilled; // a simulated dashboard's first viewer gets the window as history
    const part = await this.history.fromLog(resumeId, sinceMs, () => client.closed);
    if (!part || client.closed) return;
    // From memory, synchronously up to the moment the client turns live: no gap, no repeat.
    const out: Uint8Array[] = [];
    if (part.gap) out.push(gapFrame(part.gap));
    framesFor(part.logged, client.filter, out);
    framesFor(this.window.since(part.after, part.sinceMs), client.filter, out);
    this.state.delivered += this.fanout.goLive(client, out);
  }

  /** History or resume for a relay: what a viewer here with the same Last-Event-ID / `history` gets first, and where it goes live. */
  async replay({ lastEventId, sinceMs }: ReplayRequest): Promise<ReplayResult> {
    await this.simulation.backfilled;
    const part = (await this.history.fromLog(lastEventId, sinceMs, () => false, REPLAY_LIMIT))!;
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

  // ---- relays ------------------------------------------------------------------------------

  /** A relay with viewers subscribes, and again every heartbeat (a restarted object relearns its relays); from then on it
   *  gets every commit. The answer is the last id committed before that: where the pushes continue. */
  async subscribe(request: SubscribeRequest): Promise<{ lastId: string | null }> {
    this.hub.subscribe(request);
    this.state.delivered += request.delivered;
    this.store.touch();
    return { lastId: idOrNull(this.lastCommitted) };
  }

  /** The relay's last viewer left. */
  async unsubscribe({ relay, session, delivered }: Omit<SubscribeRequest, "viewers">): Promise<void> {
    this.state.delivered += delivered;
    this.hub.unsubscribe(relay, session);
  }

  // ---- notifications and the alarm -----------------------------------------------------------

  override async alarm(): Promise<void> {
    await this.alarms.fire();
  }

  /** Each channel's deliveries, for `GET /api/dashboards/:id/notifications`. */
  async notifications(): Promise<NotificationsAnswer> {
    return this.notifier?.status() ?? { channels: [] };
  }

  /** A test message to each channel (`POST …/notifications/test`). */
  async testNotifications(): Promise<NotificationTestAnswer | { retryAfterMs: number }> {
    return (await this.notifier?.test()) ?? { results: [] };
  }

  // ---- observability -----------------------------------------------------------------------

  async stats(): Promise<DashboardStats> {
    const last = this.lastCommitted;
    const relays = await this.hub.reports();
    for (const r of relays) this.state.delivered += r.delivered;
    return {
      dashboard: this.ctx.id.name ?? "",
      connectedClients: this.fanout.size + relays.reduce((sum, r) => sum + r.viewers, 0),
      relays: relays.filter((r) => r.viewers > 0).length,
      lastEventId: last ? formatEventId(last) : null,
      lastEventTime: last ? new Date(last.ms).toISOString() : null,
      eventsPublished: this.state.published,
      eventsDelivered: this.state.delivered,
      retentionSeconds: this.config.retentionSeconds,
      eventLog: { ...this.appends.health },
      storage: relays.reduce(
        (sum, r) => ({
          rowsRead: sum.rowsRead + r.storage.rowsRead,
          rowsWritten: sum.rowsWritten + r.storage.rowsWritten,
          bytes: sum.bytes + r.storage.bytes,
        }),
        this.meter.use(),
      ),
    };
  }
}
