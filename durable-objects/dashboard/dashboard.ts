// One Durable Object per dashboard. It is the dashboard's single writer (sequencer.ts assigns
// the ids and runs the alert rules, so concurrent publishers cannot reorder or race) and it
// delivers every event: to the SSE streams it holds itself (each event is encoded once per
// filter group and the same bytes are enqueued to every stream, synchronously, without awaiting
// any client), and, when viewers are placed on relay objects (RELAYS_PER_DASHBOARD), once to each
// relay. This class is its RPC surface (core/rpc.ts's DashboardRpc; every request was parsed and
// checked by the Worker) and the wiring of its parts, by role: intake.ts (what real systems send)
// and sequenced.ts (the simulator's ticks, retried publishes), append-chain.ts (the write path to
// the log), catch-up.ts and first-frames.ts (history and resume), relay-hub.ts (the relays),
// simulation.ts (a watched simulated dashboard), ../streams/ (the viewers), ../history/ (the
// downsampled buckets), ../notify/ (alerts sent to chat, pagers and webhooks, from a durable queue
// its alarm drains).
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
import { SplitSeries } from "../ingest/split-series.ts";
import { notifierFor, type Notifier } from "../notify/notifier.ts";
import { Fanout, idOrNull, type Entry } from "../streams/fanout.ts";
import { AppendChain } from "./append-chain.ts";
import { CatchUp } from "./catch-up.ts";
import { applyRun, NEW_CHECK, stateOf } from "./check-state.ts";
import { FirstFrames } from "./first-frames.ts";
import { Intake } from "./intake.ts";
import { SequencedInput } from "./sequenced.ts";
import { dashboardStats } from "./stats.ts";
import { TokenBucket } from "./rate-limit.ts";
import { RelayHub } from "./relay-hub.ts";
import { Sequencer } from "./sequencer.ts";
import { SimulationBridge } from "./simulation.ts";
import { SIMULATOR } from "../../core/simulation/tick.ts";
import { StateStore } from "./state.ts";
import { StorageMeter } from "../storage/meter.ts";

/** While viewers are connected and no publish has come through, look in the log this often. */
const POLL_MS = 5_000;

export class DashboardObject extends DurableObject<Env> implements DashboardRpc {
  private readonly config: Config;
  private readonly def: DashboardDef;
  private readonly log: EventLog;
  /** Every statement goes through it: rows read and written, for `stats().storage`. */
  private readonly meter: StorageMeter;
  private readonly store: StateStore;
  private readonly seq: Sequencer;
  /** Publishes with a source and sequence: the cron's ticks, the bridge's, retried ones. */
  private readonly sequenced: SequencedInput;
  /** A change the next commit must write at once (a check's streak), besides alerts. */
  private urgent = false;
  private readonly simulation: SimulationBridge;
  private lastCommitted: EventId | null = null;
  private lastCommitAt = 0;

  private readonly appends: AppendChain;
  private readonly history: CatchUp;
  /** What a viewer or a relay is sent before it goes live. */
  private readonly firstFrames: FirstFrames;
  /** The streams this object holds itself (viewers not placed on relays). */
  private readonly fanout: Fanout;
  private readonly hub: RelayHub;
  /** History buckets for GET …/series (history-feed.ts). */
  private readonly feed: HistoryFeed;
  /** Runs while anyone watches (streams here or relays): log polling, relay expiry. */
  private poller: ReturnType<typeof setInterval> | null = null;
  private readonly logBucket: TokenBucket;
  private readonly pointBucket: TokenBucket;
  /** JSON samples, protocol points and log lines on their way in. */
  private readonly intake: Intake;
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
    this.logBucket = new TokenBucket(this.config.logRate.perSecond, this.config.logRate.burst);
    this.pointBucket = new TokenBucket(this.config.pointRate.perSecond, this.config.pointRate.burst);
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
    this.firstFrames = new FirstFrames({
      history: this.history,
      retentionSeconds: retention,
      backfilled: () => this.simulation.backfilled,
      lastCommitted: () => this.lastCommitted,
    });
    this.intake = new Intake({
      def: this.def,
      seq: this.seq,
      emit: (entries) => this.emit(entries),
      counters: new CounterStore(sql),
      splits: new SplitSeries(this.def),
      history: this.history,
      alertState: () => this.state.alertState,
      buckets: () => ({ points: this.pointBucket, logs: this.logBucket }),
    });
    const sequenced = (this.sequenced = new SequencedInput({
      seq: this.seq,
      state: () => this.state,
      history: this.history,
      emit: (entries) => this.emit(entries),
    }));
    this.simulation = new SimulationBridge(
      this.def,
      this.config,
      (request) => sequenced.publish(request),
      (ticks) => sequenced.backfill(ticks),
      () => sequenced.lastTick(),
    );
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
    return this.sequenced.publish(request);
  }

  /** JSON ingest (intake.ts). */
  async ingestSamples(request: IngestSamplesRequest): Promise<PublishResult | { retryAfterMs: number } | { refused: string }> {
    return this.intake.samples(request);
  }

  async watched(): Promise<boolean> {
    return this.isWatched();
  }

  /** OTLP / line-protocol / remote-write points (intake.ts). */
  async publishPoints(request: PublishPointsRequest): Promise<PublishPointsResult> {
    return this.intake.points(request);
  }

  /** Log lines (intake.ts). */
  async publishLogs(request: PublishLogsRequest): Promise<PublishResult | { retryAfterMs: number }> {
    return this.intake.logs(request);
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
    return this.fanout.open(open, limits, async (client, req) => {
      this.state.delivered += await this.firstFrames.toViewer(client, req, this.fanout);
    });
  }

  /** History or resume for a relay (first-frames.ts). */
  async replay(request: ReplayRequest): Promise<ReplayResult> {
    return this.firstFrames.replay(request);
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
    const relays = await this.hub.reports();
    for (const r of relays) this.state.delivered += r.delivered;
    return dashboardStats({
      dashboard: this.ctx.id.name ?? "",
      viewers: this.fanout.size,
      relays,
      last: this.lastCommitted,
      published: this.state.published,
      delivered: this.state.delivered,
      retentionSeconds: this.config.retentionSeconds,
      eventLog: this.appends.health,
      storage: this.meter.use(),
    });
  }
}
