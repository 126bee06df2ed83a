// A relay object holds up to STREAMS_PER_RELAY viewer streams of one dashboard, so that a
// popular dashboard is not bound by one object's memory, CPU or request rate. Relays are named
// `<dashboard>:<i>`, i < RELAYS_PER_DASHBOARD; the Worker places each new viewer on one of them.
//
// While it has viewers a relay is subscribed to its dashboard's object, which pushes it every
// commit once (`deliver`); the relay fans each one out to its viewers with the same machinery
// the dashboard object uses for its own (streams/fanout.ts). Every push names the id
// committed before it, so a relay that missed one (a lost push, a restarted dashboard object
// that does not know it yet) notices, fetches the gap with `replay` and never skips or repeats.
//
// The relay keeps its own copy of the dashboard's recent events (the same 15-minute window), so
// history and most resumes are served here: a reconnect storm costs the dashboard object a few
// requests per relay, not one per viewer. What the window cannot answer (an old or unknown id)
// is asked of the dashboard, which answers exactly as it would answer the viewer itself.
import { DurableObject } from "cloudflare:workers";
import { parseEventId, type EventId } from "../../contract/index.ts";
import { readConfig, type Config } from "../../core/config/index.ts";
import { relayDashboard, type DeliverBatch, type RelayReport, type RelayRpc, type RelayStreamOpen } from "../../core/rpc.ts";
import { Fanout, framesFor, gapFrame, idOrNull, isBefore, toEntry, type Entry, type StreamRequest } from "../streams/fanout.ts";
import { historySince, RecentWindow } from "../streams/recent-window.ts";
import { concatBytes } from "../../core/bytes.ts";
import { StorageMeter } from "../storage/meter.ts";
import type { StreamClient } from "../streams/stream-client.ts";
import { DashboardLink, type Replayed } from "./dashboard-link.ts";
import { PushQueue } from "./push-queue.ts";

/** Waits between tries to subscribe and load the window before the relay gives up and cuts its viewers. */
const START_RETRIES_MS = [500, 1000, 2000];
/** A relay that knows it is behind waits this long for pushes in flight before it asks for the gap. */
const HEAL_AFTER_MS = 250;

export class RelayObject extends DurableObject<Env> implements RelayRpc {
  private readonly config: Config;
  private readonly fanout: Fanout;
  /** A relay keeps nothing in storage; its (empty) database still counts in the dashboard's stats. */
  private readonly meter: StorageMeter;
  private readonly link: DashboardLink;

  /** Set while the relay has viewers: it is subscribed under this id. */
  private session: string | null = null;
  /** Subscribing and filling the window, for this session. */
  private ready: Promise<void> | null = null;
  /** True once `last` and the window are loaded; pushes before that are queued. */
  private synced = false;
  /** The last event applied: sent to the live viewers and held in the window. */
  private last: EventId | null = null;
  /** Recent events, up to `last`: the same span as the dashboard object's window. */
  private readonly window = new RecentWindow(() => this.config.retentionSeconds);
  /** Pushes that wait while the relay syncs or heals a gap. */
  private readonly queued = new PushQueue();
  private healing: Promise<void> | null = null;
  private healTimer: ReturnType<typeof setTimeout> | null = null;
  /** Viewers whose catch-up (from the dashboard) reached past `last`: live once the relay is there. */
  private parked: { client: StreamClient; cursor: EventId | null }[] = [];
  private subscribing = false;
  /** Deliveries not yet reported to the dashboard (its stats count them). */
  private unreported = 0;
  /** The name the Worker gave with the first viewer, where the runtime gives none (RelayStreamOpen.relay). */
  private namedBy: string | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = readConfig(env);
    this.meter = new StorageMeter(ctx.storage.sql);
    this.link = new DashboardLink(env.DASHBOARD, () => this.dashboard);
    this.fanout = new Fanout({
      what: "relay",
      onFirst: () => this.start(),
      onTick: () => this.resubscribe(),
      onEmpty: () => this.stop(),
    });
  }

  /** `<dashboard>:<i>` */
  private get name(): string {
    const name = this.ctx.id.name ?? this.namedBy;
    if (relayDashboard(name) === null) throw new TypeError(`relay objects are named <dashboard>:<i>, got ${name}`);
    return name!;
  }

  private get dashboard(): string {
    return relayDashboard(this.name)!;
  }

  // ---- viewers -----------------------------------------------------------------------------

  async openStream(open: RelayStreamOpen): Promise<Response> {
    this.namedBy ??= open.relay;
    void this.name; // refuse a misnamed object before it holds a stream
    const limits = { ...this.config, maxStreams: this.config.streamsPerRelay };
    return this.fanout.open(open, limits, (client, req) => this.catchUp(client, req));
  }

  /** History or what a resume missed, then live: the same bytes the dashboard object would send. */
  private async catchUp(client: StreamClient, { resumeId, historySeconds, openedAt }: StreamRequest): Promise<void> {
    // `history` counts back from when the viewer connected, not from when the relay got ready.
    const sinceMs = historySince(openedAt, historySeconds, this.config.retentionSeconds);
    await this.ready;
    if (client.closed) return;
    this.window.trim();
    const after = parseEventId(resumeId);
    if (this.synced && this.window.covers(after, sinceMs) && !isBefore(this.last, after) && !(after && this.window.lacks(after))) {
      // The common case, from this relay's memory: no request to the dashboard object.
      const out: Uint8Array[] = [];
      framesFor(this.window.since(after, sinceMs), client.filter, out);
      this.unreported += this.fanout.goLive(client, out);
      return;
    }
    // An id older than the window, or one this relay has not seen (never issued, or not yet
    // pushed here): the dashboard answers as it would answer the viewer, gap notice included.
    const r = await this.link.replayAll({ lastEventId: resumeId, sinceMs });
    this.sendThenJoin(client, r);
  }

  private sendThenJoin(client: StreamClient, r: Replayed): void {
    if (client.closed) return;
    const out: Uint8Array[] = [];
    if (r.gap) out.push(gapFrame(r.gap));
    framesFor(r.entries, client.filter, out);
    if (out.length > 0) client.write(concatBytes(out), false);
    this.unreported += out.length;
    this.join(client, r.through);
  }

  /** Makes a client live that has been sent every event up to `cursor`. */
  private join(client: StreamClient, cursor: EventId | null): void {
    if (client.closed) return;
    if (!this.synced || isBefore(this.last, cursor)) {
      // The relay has not applied `cursor` yet (a push in flight): wait for it.
      this.parked.push({ client, cursor });
      this.healUnlessReached(cursor);
      return;
    }
    if (cursor === null && this.window.coveredAfter !== null) {
      // The dashboard says it has committed nothing, yet this relay holds events: its log was reset.
      return this.reset("the dashboard's log went backwards");
    }
    if (cursor !== null && !this.window.covers(cursor, 0)) {
      // The window moved past `cursor` meanwhile (a burst): fetch the difference first.
      this.link.replayAll({ lastEventId: idOrNull(cursor), sinceMs: 0 }).then(
        (r) => this.sendThenJoin(client, r),
        (err: unknown) => {
          console.error("relay catch-up failed", err);
          client.fail("catch-up failed");
        },
      );
      return;
    }
    const out: Uint8Array[] = [];
    framesFor(this.window.since(cursor, -Infinity), client.filter, out);
    this.unreported += this.fanout.goLive(client, out);
  }

  // ---- the subscription --------------------------------------------------------------------

  /** First viewer: subscribe, then load the window (pushes that arrive meanwhile are queued). */
  private start(): void {
    const session = (this.session = crypto.randomUUID());
    this.ready = this.init(session).catch((err: unknown) => {
      if (this.session !== session) return;
      console.error(`relay ${this.name} could not reach its dashboard`, err);
      this.fanout.failAll("relay could not reach its dashboard"); // they reconnect; the next try starts afresh
      throw err;
    });
    this.ready.catch(() => {}); // each viewer's catch-up reports it
  }

  /** Retries a failed start a few times (the dashboard's object may be busy after a deploy); viewers keep their heartbeats meanwhile. */
  private async init(session: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.sync(session);
      } catch (err) {
        if (this.session !== session || attempt >= START_RETRIES_MS.length) throw err;
        console.warn(`relay ${this.name} could not start (${err instanceof Error ? err.message : String(err)}); trying again`);
        await new Promise((r) => setTimeout(r, START_RETRIES_MS[attempt]));
        if (this.session !== session) return;
      }
    }
  }

  private async sync(session: string): Promise<void> {
    await this.link.call((d) => d.subscribe({ relay: this.name, session, viewers: this.fanout.size, delivered: this.takeUnreported() }));
    const fill = await this.link.replayAll({ lastEventId: null, sinceMs: this.window.start() });
    if (this.session !== session) return;
    // Every event since the (retention-clamped) start of the fill is here; with none at all
    // ever committed, every event there will ever be.
    this.window.reset(fill.entries, fill.through === null ? null : { ms: fill.sinceMs - 1, seq: Number.MAX_SAFE_INTEGER });
    this.last = fill.through;
    this.synced = true;
    this.drainQueued();
  }

  /** Every heartbeat: stay known to the dashboard (it may have restarted), and check we are not behind. */
  private resubscribe(): void {
    if (!this.synced || this.subscribing) return;
    const session = this.session!;
    const delivered = this.takeUnreported();
    this.subscribing = true;
    this.link
      .call((d) => d.subscribe({ relay: this.name, session, viewers: this.fanout.size, delivered }))
      .then(
        ({ lastId }) => {
          this.subscribing = false;
          if (this.session !== session) return;
          const latest = parseEventId(lastId);
          if (isBefore(latest, this.last)) this.reset("the dashboard's log went backwards");
          else this.healUnlessReached(latest);
        },
        (err: unknown) => {
          this.subscribing = false;
          this.unreported += delivered;
          console.warn(`relay ${this.name} could not re-subscribe`, err);
        },
      );
  }

  /** Last viewer gone: unsubscribe and forget everything (the next viewer starts afresh). */
  private stop(): void {
    const session = this.session;
    this.session = this.ready = this.healing = null;
    this.synced = false;
    this.last = null;
    this.window.reset([], null);
    this.queued.take();
    this.parked = [];
    if (this.healTimer) clearTimeout(this.healTimer);
    this.healTimer = null;
    if (!session) return;
    const delivered = this.takeUnreported();
    this.link.call((d) => d.unsubscribe({ relay: this.name, session, delivered })).catch(() => {});
  }

  /** The relay cannot follow its dashboard any more: cut every viewer; each resumes by id. */
  private reset(reason: string): void {
    console.warn(`relay ${this.name}: ${reason}`);
    this.fanout.failAll(reason); // the last one to go stops the session
  }

  // ---- pushes ------------------------------------------------------------------------------

  /** One commit from the dashboard. False = this relay serves no viewers: stop pushing to it. */
  deliver(batch: DeliverBatch): boolean {
    if (this.session === null) return false;
    if (!this.synced || this.healing) this.queued.push(batch);
    else this.accept(batch);
    return true;
  }

  private accept(batch: DeliverBatch): void {
    const fresh: Entry[] = [];
    for (const raw of batch.entries) {
      const e = toEntry(raw);
      if (isBefore(this.last, e.key)) fresh.push(e);
    }
    if (fresh.length === 0) return; // had it already
    if (isBefore(this.last, parseEventId(batch.prevId))) {
      // Something between our last event and this batch never reached us: fetch it first.
      this.queued.push(batch);
      this.heal();
      return;
    }
    this.apply(fresh);
  }

  private drainQueued(): void {
    for (const batch of this.queued.take()) {
      if (this.healing) this.queued.push(batch);
      else this.accept(batch);
    }
  }

  /** Events that follow `last` directly, in order. */
  private apply(entries: Entry[]): void {
    this.last = entries[entries.length - 1]!.key;
    this.window.push(entries);
    if (this.fanout.size > 0) this.unreported += this.fanout.broadcast(entries);
    if (this.parked.length > 0) {
      const parked = this.parked;
      this.parked = [];
      for (const p of parked) this.join(p.client, p.cursor);
    }
  }

  /** Fetches whatever follows `last` from the dashboard; pushes wait in the queue meanwhile. */
  private heal(): void {
    if (this.healing || !this.synced) return;
    const session = this.session;
    const healing: Promise<void> = this.link
      .replayAll({
        lastEventId: idOrNull(this.last),
        sinceMs: 0, // used only when nothing was ever committed: everything retained
      })
      .then(
        (r) => {
          if (this.healing !== healing || this.session !== session) return;
          this.healing = null;
          if (r.gap) return this.reset("relay fell behind what its dashboard retains");
          const fresh = r.entries.filter((e) => isBefore(this.last, e.key));
          if (fresh.length > 0) this.apply(fresh);
          this.drainQueued();
        },
        (err: unknown) => {
          if (this.healing === healing) this.healing = null;
          console.warn(`relay ${this.name} could not fetch a gap; retrying at the next push or heartbeat`, err);
        },
      );
    this.healing = healing;
  }

  /** The dashboard has committed `target`: if no push brings it here shortly, fetch it. */
  private healUnlessReached(target: EventId | null): void {
    if (!isBefore(this.last, target) || this.healTimer) return;
    this.healTimer = setTimeout(() => {
      this.healTimer = null;
      if (this.synced && isBefore(this.last, target)) this.heal();
    }, HEAL_AFTER_MS);
  }

  // ---- the dashboard -----------------------------------------------------------------------

  /** Viewers here, and deliveries since the last report (the dashboard's stats add them up). */
  report(): RelayReport {
    return { viewers: this.fanout.size, delivered: this.takeUnreported(), storage: this.meter.use() };
  }

  private takeUnreported(): number {
    const n = this.unreported;
    this.unreported = 0;
    return n;
  }
}
