// A dashboard's notifications: a queue per channel (lane.ts, in the object's SQLite through
// store.ts), filled from the alert events the object commits and emptied by its alarm
// (../alarms/scheduler.ts). Per channel the messages leave in order, one at a time: a resolve
// never arrives before its raise, and a message waiting for a retry holds back the ones behind
// it. Memory holds each channel's state row and its open chat message, never the queue.
import {
  compareEventIds,
  EVENT,
  parseEventId,
  type DashboardDef,
  type NotificationsAnswer,
  type NotificationTestAnswer,
} from "../../contract/index.ts";
import { dashboardUrl, type Config, type NotifyChannel } from "../../core/config/index.ts";
import type { Timer } from "../alarms/scheduler.ts";
import type { Sql } from "../storage/meter.ts";
import type { Entry } from "../streams/fanout.ts";
import { render, type Message, type Sender } from "./formats/index.ts";
import { Lane, messageId } from "./lane.ts";
import { noticeFor, reminderOf, subjectOf, type Notice } from "./notice.ts";
import { post, type Outcome } from "./send.ts";
import { NotifyStore } from "./store.ts";

/**
 * Messages one channel sends per alarm, and for how long it keeps sending: the alarm comes
 * straight back for the rest, and a channel that just got work never waits long behind a slow one
 * (the alarm runs one at a time, and sets itself again when it ends).
 */
const SENDS_PER_RUN = 20;
const RUN_MS = 5_000;
/** A test message at most this often per dashboard (it reaches people). */
export const TEST_INTERVAL_MS = 10_000;

export interface NotifierOptions {
  sql: Sql;
  sender: Sender;
  channels: readonly NotifyChannel[];
  /** A metric's label, for chat messages. */
  labelOf: (metric: string) => string | undefined;
  /** Work is due sooner than the alarm: set it (AlarmScheduler.arm). */
  wake: () => void;
  now?: () => number;
}

/** The dashboard's notifier, or null when no channel is configured for it (then nothing is stored). */
export function notifierFor(config: Config, def: DashboardDef, sql: Sql, wake: () => void): Notifier | null {
  const channels = config.notify.get(def.id) ?? [];
  if (channels.length === 0) return null;
  const labels = new Map(def.metrics.map((m) => [m.name, m.label]));
  const url = dashboardUrl(config.publicUrl, def.id);
  const sender = { dashboard: def.id, dashboardName: def.name, ...(url ? { url } : {}) };
  return new Notifier({ sql, channels, sender, labelOf: (metric) => labels.get(metric), wake });
}

export class Notifier implements Timer {
  private readonly lanes: Lane[];
  private readonly sender: Sender;
  private readonly labelOf: (metric: string) => string | undefined;
  private readonly wake: () => void;
  private readonly now: () => number;
  private lastTest = -Infinity;

  constructor(o: NotifierOptions) {
    this.sender = o.sender;
    this.labelOf = o.labelOf;
    this.wake = o.wake;
    this.now = o.now ?? (() => Date.now());
    const store = new NotifyStore(o.sql);
    store.forgetAllBut(o.channels.map((c) => c.name));
    const states = store.states();
    const queues = store.queues();
    this.lanes = o.channels.map((c) => new Lane(c, store, o.sender.dashboard, states.get(c.name), queues.get(c.name)));
  }

  /**
   * Alert events now in the event log: queue what each channel is to be told. Synchronous, so
   * with the SQLite log its writes share the append's transaction.
   */
  committed(entries: readonly Entry[]): void {
    const alerts = entries.filter((e) => e.event === EVENT.alert);
    if (alerts.length === 0) return;
    const now = this.now();
    for (const lane of this.lanes) {
      const through = parseEventId(lane.state.through);
      const notices: Notice[] = [];
      let changed = false;
      for (const e of alerts) {
        if (through && compareEventIds(e.key, through) <= 0) continue;
        const payload = (e.payload ??= JSON.parse(e.data) as Record<string, unknown>);
        const subject = subjectOf(payload);
        if (!subject) continue;
        const open = lane.state.open[subject];
        const decided = noticeFor(lane.channel, open, payload, e.id, this.labelOf, now);
        if (decided.open !== open) {
          changed = true;
          lane.setOpen(subject, decided.open ?? null);
        }
        if (decided.notice) notices.push(decided.notice);
      }
      if (!changed && notices.length === 0) continue;
      lane.state.through = alerts[alerts.length - 1]!.id;
      lane.enqueue(notices, now);
      lane.save();
    }
    this.wake();
  }

  // ---- the alarm ---------------------------------------------------------------------------

  due(): number | null {
    let next: number | null = null;
    const consider = (t: number | undefined | null) => {
      if (t !== undefined && t !== null && (next === null || t < next)) next = t;
    };
    for (const lane of this.lanes) {
      if (lane.sending === null) consider(lane.headDue);
      if (reminds(lane.channel)) for (const open of Object.values(lane.state.open)) consider(open.remindAt);
    }
    return next;
  }

  async run(now: number): Promise<void> {
    this.remind(now);
    await Promise.all(this.lanes.map((lane) => this.drain(lane, now)));
  }

  /** Sends the channel's due messages in order; stops at the first that must wait. */
  private async drain(lane: Lane, now: number): Promise<void> {
    for (let sent = 0; sent < SENDS_PER_RUN && this.now() - now < RUN_MS; sent++) {
      const row = lane.take(now);
      if (!row) return;
      let outcome: Outcome;
      try {
        outcome = await this.attempt(lane, row.message);
      } catch (err) {
        outcome = { ok: false, retry: true, reason: "internal error" };
        console.error(`notification to ${lane.name} failed`, err);
      }
      if (!lane.settle(row, outcome, this.now())) return;
    }
  }

  private async attempt(lane: Lane, message: Message): Promise<Outcome> {
    let request;
    try {
      request = await render(lane.channel, this.sender, message, this.now());
    } catch (err) {
      console.error(`notification to ${lane.name} could not be formatted`, err);
      return { ok: false, retry: false, reason: "the message could not be formatted" };
    }
    return post(lane.channel.url, request, lane.channel.timeoutMs, lane.secrets, this.now);
  }

  /** Queues a reminder of every critical alert (and down check) whose time has come. */
  private remind(now: number): void {
    for (const lane of this.lanes) {
      if (!reminds(lane.channel)) continue;
      const due = Object.values(lane.state.open).filter((o) => o.remindAt !== undefined && o.remindAt <= now);
      if (due.length === 0) continue;
      for (const open of due) open.remindAt = now + lane.channel.repeatMinutes * 60_000;
      lane.enqueue(
        due.map((open) => reminderOf(open, now)),
        now,
      );
      lane.save();
    }
  }

  // ---- the routes --------------------------------------------------------------------------

  status(): NotificationsAnswer {
    const now = this.now();
    return { channels: this.lanes.map((lane) => lane.status(now)) };
  }

  /** A `test` message to every channel at once, outside the queues; each channel's result. */
  async test(): Promise<NotificationTestAnswer | { retryAfterMs: number }> {
    const now = this.now();
    if (now - this.lastTest < TEST_INTERVAL_MS) return { retryAfterMs: this.lastTest + TEST_INTERVAL_MS - now };
    this.lastTest = now;
    const base: Notice = {
      type: "test",
      eventId: `test-${now}`,
      at: new Date(now).toISOString(),
      level: "warning",
      message: `Test notification from the ${this.sender.dashboardName} dashboard: alerts reach this channel`,
    };
    const results = await Promise.all(
      this.lanes.map(async (lane) => {
        // PagerDuty has no test event: a trigger of severity info, resolved at once.
        const notices = lane.channel.type === "pagerduty" ? [base, { ...base, level: "resolved" as const }] : [base];
        let outcome!: Outcome;
        for (const n of notices) {
          outcome = await this.attempt(lane, { id: messageId(this.sender.dashboard, n), notices: [n], omitted: 0 });
          if (!outcome.ok) break;
        }
        const { name, type } = lane.channel;
        const result = { name, type, ok: outcome.ok, ...(outcome.status !== undefined ? { status: outcome.status } : {}) };
        return outcome.ok ? result : { ...result, error: outcome.reason };
      }),
    );
    return { results };
  }
}

/** Whether a channel repeats critical alerts (PagerDuty keeps paging by itself). */
const reminds = (c: NotifyChannel) => c.repeatMinutes > 0 && c.type !== "pagerduty";
