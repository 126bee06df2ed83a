// One channel of a dashboard: its queue in the object's SQLite (store.ts) and what it keeps in
// memory: its state row, the queue's length and when its first message is due, the message
// being sent, and, for a chat channel, the message still taking transitions. Messages leave in
// order; past MAX_QUEUED the oldest are dropped and counted.
import type { ChannelStatus } from "../../contract/index.ts";
import type { NotifyChannel } from "../../core/config/index.ts";
import { isChat, type Message } from "./formats/index.ts";
import type { Notice, OpenAlert } from "./notice.ts";
import { GIVE_UP_MS, retryDelay } from "./retry.ts";
import type { Outcome } from "./send.ts";
import { markRecent, newChannelState, type ChannelState, type NotifyStore, type QueuedRow } from "./store.ts";

/** Transitions this close together go to a chat channel as one message. */
export const GROUP_MS = 3_000;
/** Messages one channel's queue holds; past it the oldest are dropped (and counted). */
export const MAX_QUEUED = 100;
/** Transitions one chat message shows (Discord's 10 embeds); earlier ones are counted, not shown. */
export const MAX_NOTICES = 10;
/** Alerts one channel tracks as raised; past it the oldest is forgotten (its resolve is not sent). */
export const MAX_OPEN = 200;

/** Alert events the page shows a state for (not reminders, not tests). */
export const tracked = (n: Notice) => n.type !== "alert.reminder" && n.type !== "test";

export class Lane {
  readonly state: ChannelState;
  /** Messages in the queue. */
  private count: number;
  private nextSeq: number;
  /** When the first queued message is due; null: the queue is empty. */
  headDue: number | null;
  /** The message being attempted (never dropped, never added to). */
  sending: number | null = null;
  /** The chat message still taking transitions, until its window closes or it is sent. */
  private group: { seq: number; closes: number; message: Message } | null = null;
  /** What no error text may repeat. */
  readonly secrets: string[];

  constructor(
    readonly channel: NotifyChannel,
    private readonly store: NotifyStore,
    private readonly dashboard: string,
    state: ChannelState | undefined,
    queued: { count: number; last: number } | undefined,
  ) {
    this.state = state ?? newChannelState();
    this.count = queued?.count ?? 0;
    this.nextSeq = (queued?.last ?? 0) + 1;
    this.headDue = queued ? (store.head(channel.name)?.due ?? null) : null;
    this.secrets = [channel.url, channel.secret, channel.routingKey].filter((s): s is string => !!s);
  }

  get name(): string {
    return this.channel.name;
  }

  save(): void {
    this.store.saveState(this.name, this.state);
  }

  /** Records what the channel now knows of an alert: it is raised (bounded by MAX_OPEN), or over (null). */
  setOpen(subject: string, open: OpenAlert | null): void {
    const all = this.state.open;
    if (!open) {
      delete all[subject];
      return;
    }
    if (!(subject in all)) {
      const keys = Object.keys(all);
      for (const key of keys.slice(0, Math.max(0, keys.length - MAX_OPEN + 1))) delete all[key];
    }
    all[subject] = open;
  }

  /** Queues notices: a chat channel's join the message still collecting (or start one); any other's are a message each. */
  enqueue(notices: Notice[], now: number): void {
    if (notices.length === 0) return;
    for (const n of notices) if (tracked(n)) markRecent(this.state, n.eventId, "pending");
    if (isChat(this.channel)) {
      const open = this.group;
      if (open && now < open.closes && this.sending !== open.seq) {
        open.message.notices.push(...notices);
        this.trim(open.message);
        this.store.rewrite(this.name, open.seq, open.message);
        return;
      }
      const message: Message = { id: `msg_${this.dashboard}_${this.name}_${this.nextSeq}`, notices: [...notices], omitted: 0 };
      this.trim(message);
      const [seq] = this.add([message], now + GROUP_MS, now);
      this.group = { seq: seq!, closes: now + GROUP_MS, message };
      return;
    }
    let list = notices;
    if (list.length > MAX_QUEUED) {
      this.dropped(list.slice(0, list.length - MAX_QUEUED), 0);
      list = list.slice(-MAX_QUEUED);
    }
    this.add(
      list.map((n) => ({ id: messageId(this.dashboard, n), notices: [n], omitted: 0 })),
      now,
      now,
    );
  }

  /** The first message, when it is due at `now` (it is then being sent: closed to more transitions). */
  take(now: number): QueuedRow | null {
    if (this.sending !== null || this.headDue === null || this.headDue > now) return null;
    const row = this.store.head(this.name);
    this.headDue = row?.due ?? null;
    if (!row || row.due > now) return null;
    this.sending = row.seq;
    if (this.group?.seq === row.seq) this.group = null;
    return row;
  }

  /** Records the outcome of sending `row`; true when it left the queue (the next may go). */
  settle(row: QueuedRow, outcome: Outcome, at: number): boolean {
    const { state } = this;
    this.sending = null;
    state.lastAttempt = at;
    let to: "sent" | "failed" | null = null;
    if (outcome.ok) {
      state.lastSuccess = at;
      state.delivered++;
      to = "sent";
    } else {
      state.lastError = { at, ...(outcome.status !== undefined ? { status: outcome.status } : {}), reason: outcome.reason };
      const failures = row.failures + 1;
      const due = at + (outcome.retryAfterMs ?? retryDelay(failures));
      if (outcome.retry && due - row.created <= GIVE_UP_MS) {
        this.store.reschedule(this.name, row.seq, due, failures);
        this.headDue = due;
      } else {
        if (outcome.retry) state.lastError.reason += " (given up: still failing 24 h after it was queued)";
        state.failed++;
        to = "failed";
      }
    }
    if (to) {
      for (const n of row.message.notices) if (tracked(n)) markRecent(state, n.eventId, to);
      this.store.remove(this.name, [row.seq]);
      this.count--;
      this.headDue = this.store.head(this.name)?.due ?? null;
    }
    this.save();
    return to !== null;
  }

  status(now: number): ChannelStatus {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const { state } = this;
    const e = state.lastError;
    return {
      name: this.name,
      type: this.channel.type,
      delivered: state.delivered,
      pending: this.count,
      failed: state.failed,
      dropped: state.dropped,
      lastAttempt: iso(state.lastAttempt),
      lastSuccess: iso(state.lastSuccess),
      lastError: e && { at: iso(e.at)!, ...(e.status !== undefined ? { status: e.status } : {}), reason: e.reason },
      nextAttempt: this.count > 0 ? iso(this.sending !== null ? now : this.headDue) : null,
      alerts: Object.fromEntries(state.recent),
    };
  }

  /** Appends messages, first making room: past MAX_QUEUED the oldest go (never the one being sent). */
  private add(messages: Message[], due: number, now: number): number[] {
    const over = this.count + messages.length - MAX_QUEUED;
    if (over > 0) {
      const oldest = this.store.oldest(this.name, over, this.sending);
      this.store.remove(
        this.name,
        oldest.map((r) => r.seq),
      );
      this.count -= oldest.length;
      for (const r of oldest) this.dropped(r.message.notices, r.message.omitted);
      if (this.group && oldest.some((r) => r.seq === this.group!.seq)) this.group = null;
      this.headDue = this.store.head(this.name)?.due ?? null;
    }
    return messages.map((message) => {
      const seq = this.nextSeq++;
      this.store.insert(this.name, { seq, due, created: now, failures: 0, message });
      this.count++;
      if (this.count === 1 || this.headDue === null) this.headDue = due; // the queue was empty
      return seq;
    });
  }

  /** A chat message shows the newest MAX_NOTICES transitions; earlier ones are counted. */
  private trim(message: Message): void {
    const extra = message.notices.length - MAX_NOTICES;
    if (extra <= 0) return;
    const cut = message.notices.splice(0, extra);
    message.omitted += cut.length;
    this.dropped(cut, 0);
  }

  private dropped(notices: readonly Notice[], omitted: number): void {
    this.state.dropped += notices.length + omitted;
    for (const n of notices) if (tracked(n)) markRecent(this.state, n.eventId, "dropped");
  }
}

/** Standard Webhooks' `webhook-id`: one per transition (a reminder: per reminder), the same on every retry. */
export function messageId(dashboard: string, n: Notice): string {
  if (n.type === "alert.reminder") return `msg_${dashboard}_${n.eventId}_r${Date.parse(n.at)}`;
  if (n.type === "test") return `msg_${dashboard}_${n.eventId}${n.level === "resolved" ? "_resolve" : ""}`;
  return `msg_${dashboard}_${n.eventId}`;
}
