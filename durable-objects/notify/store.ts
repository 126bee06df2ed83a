// The notifications' storage in the dashboard object's SQLite: a queue per channel, one row per
// message (written when queued, rewritten on a retry or when a chat message takes another
// transition, deleted once delivered or given up), and one row per channel with what it was
// told and how its deliveries went. Nothing else is kept: alerts are rare, so a few rows per
// transition cost little (docs/notifications.md counts them).
import type { NoticeState } from "../../contract/index.ts";
import type { Sql } from "../storage/meter.ts";
import type { Message } from "./formats/index.ts";
import type { OpenAlert } from "./notice.ts";

/** A channel's row: its counters, its last attempts and what it was told. */
export interface ChannelState {
  delivered: number;
  failed: number;
  dropped: number;
  lastAttempt: number | null;
  lastSuccess: number | null;
  lastError: { at: number; status?: number; reason: string } | null;
  /** The alerts it was told of and not yet told are over, by subject (notice.ts). */
  open: Record<string, OpenAlert>;
  /** The recent alert events' state, oldest first, at most RECENT_EVENTS. */
  recent: [eventId: string, state: NoticeState][];
  /** The newest alert event handled: a batch committed twice is not queued twice. */
  through: string | null;
}

export const RECENT_EVENTS = 100;

export const newChannelState = (): ChannelState => ({
  delivered: 0,
  failed: 0,
  dropped: 0,
  lastAttempt: null,
  lastSuccess: null,
  lastError: null,
  open: {},
  recent: [],
  through: null,
});

/**
 * Records what became of `eventId`, keeping the newest RECENT_EVENTS events by when they were
 * queued: a new event comes in as "pending"; one that has left the window stays out.
 */
export function markRecent(state: ChannelState, eventId: string, to: NoticeState): void {
  const entry = state.recent.find(([id]) => id === eventId);
  if (entry) entry[1] = to;
  else if (to === "pending") state.recent.push([eventId, to]);
  if (state.recent.length > RECENT_EVENTS) state.recent.splice(0, state.recent.length - RECENT_EVENTS);
}

export interface QueuedRow {
  seq: number;
  /** Epoch ms of the next attempt (a chat message: when its grouping window closes). */
  due: number;
  created: number;
  failures: number;
  message: Message;
}
type RawRow = { seq: number; due: number; created: number; failures: number; message: string };

export class NotifyStore {
  constructor(private readonly sql: Sql) {
    sql.exec(`CREATE TABLE IF NOT EXISTS notify_queue (
      channel TEXT NOT NULL, seq INTEGER NOT NULL, due INTEGER NOT NULL, created INTEGER NOT NULL,
      failures INTEGER NOT NULL, message TEXT NOT NULL, PRIMARY KEY (channel, seq)) WITHOUT ROWID`);
    sql.exec("CREATE TABLE IF NOT EXISTS notify_channels (channel TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID");
  }

  /** Drops what channels no longer configured left behind. */
  forgetAllBut(names: readonly string[]): void {
    const marks = names.map(() => "?").join(", ");
    this.sql.exec(`DELETE FROM notify_queue WHERE channel NOT IN (${marks})`, ...names);
    this.sql.exec(`DELETE FROM notify_channels WHERE channel NOT IN (${marks})`, ...names);
  }

  states(): Map<string, ChannelState> {
    const rows = this.sql.exec<{ channel: string; state: string }>("SELECT channel, state FROM notify_channels").toArray();
    return new Map(rows.map((r) => [r.channel, { ...newChannelState(), ...(JSON.parse(r.state) as Partial<ChannelState>) }]));
  }

  saveState(channel: string, state: ChannelState): void {
    this.sql.exec(
      "INSERT INTO notify_channels (channel, state) VALUES (?, ?) ON CONFLICT (channel) DO UPDATE SET state = excluded.state",
      channel,
      JSON.stringify(state),
    );
  }

  /** Each channel's queued messages and its last sequence number. */
  queues(): Map<string, { count: number; last: number }> {
    const rows = this.sql
      .exec<{ channel: string; count: number; last: number }>(
        "SELECT channel, COUNT(*) AS count, MAX(seq) AS last FROM notify_queue GROUP BY channel",
      )
      .toArray();
    return new Map(rows.map((r) => [r.channel, { count: r.count, last: r.last }]));
  }

  head(channel: string): QueuedRow | null {
    const [row] = this.sql
      .exec<RawRow>("SELECT seq, due, created, failures, message FROM notify_queue WHERE channel = ? ORDER BY seq LIMIT 1", channel)
      .toArray();
    return row ? parse(row) : null;
  }

  /** The oldest `limit` messages, leaving out `except` (the one being sent). */
  oldest(channel: string, limit: number, except: number | null): QueuedRow[] {
    return this.sql
      .exec<RawRow>(
        "SELECT seq, due, created, failures, message FROM notify_queue WHERE channel = ? AND seq != ? ORDER BY seq LIMIT ?",
        channel,
        except ?? -1,
        limit,
      )
      .toArray()
      .map(parse);
  }

  insert(channel: string, row: QueuedRow): void {
    this.sql.exec(
      "INSERT INTO notify_queue (channel, seq, due, created, failures, message) VALUES (?, ?, ?, ?, ?, ?)",
      channel,
      row.seq,
      row.due,
      row.created,
      row.failures,
      JSON.stringify(row.message),
    );
  }

  rewrite(channel: string, seq: number, message: Message): void {
    this.sql.exec("UPDATE notify_queue SET message = ? WHERE channel = ? AND seq = ?", JSON.stringify(message), channel, seq);
  }

  reschedule(channel: string, seq: number, due: number, failures: number): void {
    this.sql.exec("UPDATE notify_queue SET due = ?, failures = ? WHERE channel = ? AND seq = ?", due, failures, channel, seq);
  }

  remove(channel: string, seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    this.sql.exec(`DELETE FROM notify_queue WHERE channel = ? AND seq IN (${seqs.map(() => "?").join(", ")})`, channel, ...seqs);
  }
}

const parse = (r: RawRow): QueuedRow => ({
  seq: r.seq,
  due: r.due,
  created: r.created,
  failures: r.failures,
  message: JSON.parse(r.message) as Message,
});
