// Notifications: alerts and check transitions sent to chat, pagers and webhooks by the
// dashboard's object (docs/notifications.md). What GET /api/dashboards/:id/notifications and
// POST …/notifications/test answer, and the body a `webhook` channel receives (Standard Webhooks).

export const CHANNEL_TYPES = ["slack", "discord", "teams", "pagerduty", "webhook"] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** What became of one alert event on one channel. */
export type NoticeState = "pending" | "sent" | "failed" | "dropped";

/** One channel of a dashboard, as GET …/notifications shows it: never its URL, key or secret. */
export interface ChannelStatus {
  name: string;
  type: ChannelType;
  /** Messages delivered (2xx); a chat message may carry several transitions. */
  delivered: number;
  /** Messages waiting in the channel's queue (a first attempt or a retry). */
  pending: number;
  /** Messages given up: a 4xx other than 429, or still failing 24 h after they were queued. */
  failed: number;
  /** Messages dropped unsent because the channel's queue was full (the oldest go first). */
  dropped: number;
  lastAttempt: string | null;
  lastSuccess: string | null;
  /** The last failed attempt: the receiver's status code, or why there was none (timeout, network). */
  lastError: { at: string; status?: number; reason: string } | null;
  /** When the queue's first message is tried next (null: nothing waits). */
  nextAttempt: string | null;
  /** The recent alert events' state on this channel, by event id (the newest 100). */
  alerts: Record<string, NoticeState>;
}

/** `GET /api/dashboards/:id/notifications` (a dashboard without channels: `channels: []`). */
export interface NotificationsAnswer {
  channels: ChannelStatus[];
}

/** One channel's answer to a test message. */
export interface ChannelTestResult {
  name: string;
  type: ChannelType;
  ok: boolean;
  /** The receiver's status code, when it answered. */
  status?: number;
  /** Why it failed (never the URL or a key). */
  error?: string;
}

/** `POST /api/dashboards/:id/notifications/test`. */
export interface NotificationTestAnswer {
  results: ChannelTestResult[];
}

export type WebhookEventType = "alert.raised" | "alert.resolved" | "alert.reminder" | "check.down" | "check.up" | "test";

/**
 * The body of a `webhook` channel's request. Signed as Standard Webhooks define: `webhook-id`
 * (the same on every retry of one message), `webhook-timestamp` and `webhook-signature`.
 */
export interface WebhookPayload {
  type: WebhookEventType;
  /** When it happened (the alert's timestamp; for a reminder or a test, when it was sent). */
  timestamp: string;
  data: {
    dashboard: string;
    dashboardName: string;
    metric?: string;
    /** The series of a split metric the alert is about. */
    series?: string;
    check?: string;
    level?: "warning" | "critical" | "resolved";
    /** The level this channel was told before (a change of level, a resolve). */
    previousLevel?: "warning" | "critical";
    value?: number;
    threshold?: number;
    message: string;
    /** The `alert` event's id on the stream (a reminder: the raise's). */
    eventId: string;
    /** A reminder: since when the alert has been raised. */
    since?: string;
    /** The dashboard's page (PUBLIC_URL set). */
    url?: string;
  };
}
