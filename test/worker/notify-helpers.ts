// Helpers of the notification tests: the local receivers (test/setup/notify-receivers.global.ts),
// the object's alarm run on demand, and the clock the tests move.
import { runDurableObjectAlarm, SELF } from "cloudflare:test";
import "../setup/provided-context.ts";
import { Webhook } from "standardwebhooks";
import { inject, vi } from "vitest";
import type { ChannelStatus, MetricUpdate, NotificationsAnswer, WebhookPayload } from "../../contract/index.ts";
import type { Received } from "../setup/notify-receivers.global.ts";
import { NOTIFY_SECRETS } from "../setup/notify.ts";
import { stub } from "./helpers.ts";

export const RECEIVER = inject("notifyReceiverUrl");

/** How the hook answers its next requests, one step each ("503", "429:7", "hang"…), then 200. */
export async function script(hook: string, steps: string[]): Promise<void> {
  await fetch(`${RECEIVER}/script/${hook}`, { method: "POST", body: JSON.stringify(steps) });
}

/** Every request the hook received, in order. */
export async function received(hook: string): Promise<Received[]> {
  return (await (await fetch(`${RECEIVER}/log/${hook}`)).json()) as Received[];
}

export const bodies = async <T = WebhookPayload>(hook: string): Promise<T[]> => (await received(hook)).map((r) => JSON.parse(r.body) as T);

/** Turns the switchable port's listener off (connections refused) or on. */
export async function listener(on: boolean): Promise<void> {
  await fetch(`${RECEIVER}/listener/${on ? "on" : "off"}`, { method: "POST" });
}

/** Far ahead of the real clock: the object's alarms never fire by themselves, only when a test runs them. */
export const T0 = Date.parse("2031-03-01T09:00:00Z");

export function useTestClock(): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
}

export const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);

/** Runs the dashboard object's alarm now, as Cloudflare would when it is due. False: none was set. */
export const runAlarm = (dashboard: string) => runDurableObjectAlarm(stub(dashboard));

/** Publishes samples stamped with the test clock; the alert events' ids. */
export async function publish(dashboard: string, ...values: Record<string, number>[]): Promise<string[]> {
  const samples = values.map((v) => ({ ...v, timestamp: new Date(Date.now()).toISOString() }) as MetricUpdate);
  const { events } = await stub(dashboard).publish({ samples });
  return events.filter((e) => e.event === "alert").map((e) => e.id);
}

/** A run of the dashboards' check "db" (downAfter = upAfter = 1): its alert's id. */
export async function checkRun(dashboard: string, ok: boolean): Promise<string> {
  const run = {
    ok,
    latencyMs: 12,
    at: Date.now(),
    ...(ok ? { statusCode: 200 } : { error: "unexpected_status" as const, statusCode: 503, detail: "expected 200, got 503" }),
  };
  const { events } = await stub(dashboard).recordCheck({ name: "db", run });
  const alert = events.find((e) => e.event === "alert");
  if (!alert) throw new Error(`check run on ${dashboard} raised no alert`);
  return alert.id;
}

export async function notifications(dashboard: string): Promise<NotificationsAnswer> {
  const response = await SELF.fetch(`https://dash.test/api/dashboards/${dashboard}/notifications`);
  if (response.status !== 200) throw new Error(`GET notifications ${response.status}: ${await response.text()}`);
  return (await response.json()) as NotificationsAnswer;
}

export async function channel(dashboard: string, name: string): Promise<ChannelStatus> {
  return (await notifications(dashboard)).channels.find((c) => c.name === name)!;
}

export const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Verifies a request with the official Standard Webhooks library, at the time it was signed (the
 * library refuses timestamps more than 5 minutes from its clock). Throws when it does not verify.
 */
export function verify(request: Received): unknown {
  const now = Date.now();
  vi.setSystemTime(Number(request.headers["webhook-timestamp"]) * 1000);
  try {
    return new Webhook(NOTIFY_SECRETS.NOTIFY_TEST_WEBHOOK_SECRET).verify(request.body, request.headers);
  } finally {
    vi.setSystemTime(now);
  }
}
