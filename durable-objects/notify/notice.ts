// What a channel is told: transitions, not samples. An `alert` event becomes a notice for a
// channel when it is news to that channel: a metric reaching a level at or above its `minLevel`,
// its return to normal (only when the raise was sent), a check going down and coming back up
// (unless `checks = false`). Each channel keeps what it was told (`OpenAlert`), so a resolve
// never goes where no raise went, reminders know what is still raised, and `previousLevel` is
// the level this channel last heard.
import type { WebhookEventType } from "../../contract/index.ts";
import type { NotifyChannel } from "../../core/config/index.ts";

export type NoticeLevel = "warning" | "critical" | "resolved";

/** One transition as a channel is told it; a message carries one (webhook, pagerduty) or several (chat). */
export interface Notice {
  type: WebhookEventType;
  /** The `alert` event's id (a reminder: the raise's; a test: `test-<ms>`). */
  eventId: string;
  /** When it happened, ISO 8601 (a reminder or a test: when it was queued). */
  at: string;
  metric?: string;
  /** The metric's label (chat messages), when the dashboard defines the metric. */
  label?: string;
  series?: string;
  check?: string;
  level: NoticeLevel;
  previousLevel?: "warning" | "critical";
  value?: number;
  threshold?: number;
  message: string;
  /** A reminder: when the alert was raised. */
  since?: string;
}

/** An alert this channel was told about and not yet told is over. */
export interface OpenAlert {
  level: "warning" | "critical";
  /** The notice that raised it (what reminders repeat). */
  raise: Notice;
  /** Epoch ms of the next reminder (channels with `repeatMinutes`, while critical). */
  remindAt?: number;
}

const RANK = { warning: 1, critical: 2 } as const;

/** The key an alert is tracked by: its metric (and series) or its check. */
export function subjectOf(payload: Record<string, unknown>): string | null {
  if (typeof payload.check === "string") return `check:${payload.check}`;
  if (typeof payload.metric !== "string") return null;
  return typeof payload.series === "string" ? `metric:${payload.metric}\u0000${payload.series}` : `metric:${payload.metric}`;
}

/**
 * What `channel` is told of one alert event, and what it then knows of the subject: the new
 * open alert, `null` when it is over, unchanged (`open`) when the event is no news to it.
 */
export function noticeFor(
  channel: NotifyChannel,
  open: OpenAlert | undefined,
  payload: Record<string, unknown>,
  eventId: string,
  labelOf: (metric: string) => string | undefined,
  now: number,
): { notice: Notice | null; open: OpenAlert | null | undefined } {
  const level = payload.level as NoticeLevel;
  const base = {
    eventId,
    at: typeof payload.timestamp === "string" ? payload.timestamp : new Date(now).toISOString(),
    message: String(payload.message ?? ""),
  };
  const remindAt = channel.repeatMinutes > 0 && channel.type !== "pagerduty" ? now + channel.repeatMinutes * 60_000 : undefined;
  if (typeof payload.check === "string") {
    if (!channel.checks) return { notice: null, open };
    const check = payload.check;
    if (payload.status === "down") {
      const notice: Notice = { type: "check.down", ...base, check, level: "critical" };
      return { notice, open: { level: "critical", raise: notice, remindAt } };
    }
    if (!open) return { notice: null, open };
    return { notice: { type: "check.up", ...base, check, level: "resolved", previousLevel: open.level }, open: null };
  }
  const metric = String(payload.metric);
  const subject: Partial<Notice> = { metric };
  const label = labelOf(metric);
  if (label !== undefined) subject.label = label;
  if (typeof payload.series === "string") subject.series = payload.series;
  const values: Partial<Notice> = {};
  if (typeof payload.value === "number") values.value = payload.value;
  if (typeof payload.threshold === "number") values.threshold = payload.threshold;
  if (level === "resolved") {
    if (!open) return { notice: null, open };
    const notice: Notice = { type: "alert.resolved", ...base, ...subject, level, previousLevel: open.level, ...values };
    return { notice, open: null };
  }
  if (level !== "warning" && level !== "critical") return { notice: null, open };
  if (RANK[level] < RANK[channel.minLevel]) {
    // Below this channel's level: not news, but the raise it did hear is no longer critical
    // (no reminders), and it still gets the resolve.
    return { notice: null, open: open && { ...open, level, remindAt: undefined } };
  }
  const notice: Notice = { type: "alert.raised", ...base, ...subject, level, ...values };
  if (open) notice.previousLevel = open.level;
  return { notice, open: { level, raise: notice, remindAt: level === "critical" ? remindAt : undefined } };
}

/** A reminder of `open`, sent at `now`. */
export function reminderOf(open: OpenAlert, now: number): Notice {
  const { raise } = open;
  const notice: Notice = { ...raise, type: "alert.reminder", at: new Date(now).toISOString(), level: open.level, since: raise.at };
  delete notice.previousLevel;
  return notice;
}
