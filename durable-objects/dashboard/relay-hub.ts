// The dashboard object's side of the relay protocol: the relays that hold viewers of this
// dashboard, each pushed every commit once (one RPC per relay per commit, none awaited in turn),
// forgotten when it lags, fails or stops re-subscribing; and their viewer counts for stats,
// asked of the relays at most once every few seconds however often stats are read.
import { type EventId } from "../../contract/index.ts";
import { idOrNull, toLogEntry, type Entry } from "../streams/fanout.ts";
import { relayDashboard, relayName, type DeliverBatch, type RelayReport, type SubscribeRequest } from "../../core/rpc.ts";

/** Pushes to one relay still unanswered; past this the relay is dropped (it heals when it re-subscribes). */
const MAX_PUSHES_IN_FLIGHT = 64;
/** A relay that has not re-subscribed for this many heartbeats is forgotten. */
const RELAY_EXPIRY_HEARTBEATS = 3;
/** How long stats() waits for a relay's count. */
const RELAY_REPORT_TIMEOUT_MS = 2000;
/** The relays' counts are asked for at most this often (unless relays come or go): /stats is public on a public dashboard. */
export const RELAY_REPORTS_MAX_AGE_MS = 3000;

interface RelayLink {
  session: string;
  stub: ReturnType<Env["RELAY"]["getByName"]>;
  viewers: number;
  seenAt: number;
  inFlight: number;
}

export class RelayHub {
  /** Relays that hold viewers of this dashboard, by name. */
  readonly relays = new Map<string, RelayLink>();
  /** The last round of reports, shared by every stats() call until it is too old or relays changed. */
  private asked: { at: number; reports: Promise<RelayReport[]> } | null = null;

  constructor(
    private readonly env: Env,
    /** The dashboard's id (the object's name). */
    private readonly dashboard: string | undefined,
    private readonly config: { relaysPerDashboard: number; heartbeatSeconds: number },
    /** Relays came or went: the object starts or stops its poller. */
    private readonly onChange: () => void,
  ) {}

  get size(): number {
    return this.relays.size;
  }

  /** Registers (or refreshes) a relay with viewers. */
  subscribe({ relay, session, viewers }: SubscribeRequest): void {
    // An object reached through wrangler's dev registry (another local session) has no name to check against.
    if (this.dashboard !== undefined && relayDashboard(relay) !== this.dashboard)
      throw new TypeError(`relay ${relay} does not belong to dashboard ${this.dashboard}`);
    let link = this.relays.get(relay);
    if (!link || link.session !== session) {
      link = { session, stub: this.env.RELAY.getByName(relay), viewers, seenAt: 0, inFlight: 0 };
      this.relays.set(relay, link);
      this.asked = null; // a relay came: the next stats count it
    }
    link.viewers = viewers;
    link.seenAt = Date.now();
    this.onChange();
  }

  /** The relay's last viewer left. */
  unsubscribe(relay: string, session: string): void {
    const link = this.relays.get(relay);
    if (link?.session === session) this.drop(relay, link);
  }

  /** Pushes one commit to every relay; a relay that fails or lags is dropped. */
  push(prev: EventId | null, entries: Entry[]): void {
    const batch: DeliverBatch = { prevId: idOrNull(prev), entries: entries.map(toLogEntry) };
    for (const [name, link] of this.relays) {
      if (link.inFlight >= MAX_PUSHES_IN_FLIGHT) {
        this.drop(name, link); // stuck: it finds the gap and heals when it re-subscribes
        continue;
      }
      link.inFlight++;
      link.stub.deliver(batch).then(
        (keep) => {
          link.inFlight--;
          if (!keep) this.drop(name, link); // it has no viewers any more
        },
        (err: unknown) => {
          link.inFlight--;
          console.warn(`push to relay ${name} failed`, err);
          this.drop(name, link);
        },
      );
    }
  }

  /** Relays that stopped re-subscribing (evicted without a word) are forgotten. */
  expire(): void {
    const before = Date.now() - RELAY_EXPIRY_HEARTBEATS * this.config.heartbeatSeconds * 1000;
    for (const [name, link] of this.relays) if (link.seenAt < before) this.drop(name, link);
  }

  private drop(name: string, link: RelayLink): void {
    if (this.relays.get(name) !== link) return;
    this.relays.delete(name);
    this.asked = null;
    this.onChange();
  }

  /**
   * Viewers and deliveries on this dashboard's relays. A round asks every configured relay (one
   * that does not answer in time counts with what it said when it last subscribed); calls within
   * RELAY_REPORTS_MAX_AGE_MS of it share its viewer counts, with no deliveries (already counted).
   */
  async reports(): Promise<RelayReport[]> {
    if (this.config.relaysPerDashboard === 0 || !this.dashboard) return [];
    const now = Date.now();
    if (this.asked && now - this.asked.at < RELAY_REPORTS_MAX_AGE_MS) {
      // The deliveries were counted by the call that asked; the rest is as it was then.
      return (await this.asked.reports).map((r) => ({ ...r, delivered: 0 }));
    }
    const reports = this.askRelays(this.dashboard);
    this.asked = { at: now, reports };
    return reports;
  }

  private askRelays(name: string): Promise<RelayReport[]> {
    return Promise.all(
      Array.from({ length: this.config.relaysPerDashboard }, async (_, i): Promise<RelayReport> => {
        const relay = relayName(name, i);
        let timer: ReturnType<typeof setTimeout> | undefined;
        try {
          const report = await Promise.race([
            this.env.RELAY.getByName(relay).report(),
            new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), RELAY_REPORT_TIMEOUT_MS))),
          ]);
          return report;
        } catch {
          return { viewers: this.relays.get(relay)?.viewers ?? 0, delivered: 0, storage: { rowsRead: 0, rowsWritten: 0, bytes: 0 } };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }
}
