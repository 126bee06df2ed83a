// GET /api/dashboards/:id/notifications and POST …/notifications/test: what they answer, who
// may call them, and that no URL, key or secret ever appears in either (nor in an error a
// receiver sends back). Real receivers on local ports (test/setup/notify-receivers.global.ts).
import { SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { NotificationTestAnswer, WebhookPayload } from "../../contract/index.ts";
import { CHANNELS, NOTIFY_SECRETS } from "../setup/notify.ts";
import { advance, bodies, notifications, RECEIVER, received, script, T0, useTestClock, verify } from "./notify-helpers.ts";

beforeEach(useTestClock);
afterEach(() => vi.useRealTimers());

const TOKEN = "test-ingest-token-0123456789";
const sendTest = (dashboard: string, token?: string) =>
  SELF.fetch(`https://dash.test/api/dashboards/${dashboard}/notifications/test`, {
    method: "POST",
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
/** Everything no answer may contain: the receivers' address, the hooks' paths, the keys. */
const SECRETS = [
  new URL(RECEIVER).host,
  "/hook/",
  NOTIFY_SECRETS.NOTIFY_TEST_PD_KEY,
  NOTIFY_SECRETS.NOTIFY_TEST_WEBHOOK_SECRET.slice(6, 30),
];

describe("notification routes", () => {
  it("GET …/notifications answers each channel's state in NOTIFY's order, with no URL, key or secret; a dashboard without channels has none", async () => {
    const response = await SELF.fetch("https://dash.test/api/dashboards/n9/notifications");
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const s of SECRETS) expect(text).not.toContain(s);
    const { channels } = JSON.parse(text) as Awaited<ReturnType<typeof notifications>>;
    expect(channels.map((c) => [c.name, c.type])).toEqual([
      [CHANNELS.testHook, "webhook"],
      [CHANNELS.testPd, "pagerduty"],
      [CHANNELS.testTeams, "teams"],
      [CHANNELS.testGone, "webhook"],
    ]);
    expect(channels[0]).toEqual({
      name: CHANNELS.testHook,
      type: "webhook",
      delivered: 0,
      pending: 0,
      failed: 0,
      dropped: 0,
      lastAttempt: null,
      lastSuccess: null,
      lastError: null,
      nextAttempt: null,
      alerts: {},
    });
    expect(await notifications("t1")).toEqual({ channels: [] });
  });

  it("POST …/notifications/test sends a test message to every channel and answers each one's result, once per 10 s, with the ingest token", async () => {
    expect((await sendTest("n9")).status).toBe(401);
    expect((await sendTest("n9", "not-the-token-0123456789")).status).toBe(401);
    await script(CHANNELS.testGone, ["echo:400"]);
    const response = await sendTest("n9", TOKEN);
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const s of SECRETS) expect(text).not.toContain(s);
    const answer = JSON.parse(text) as NotificationTestAnswer;
    expect(answer.results).toEqual([
      { name: CHANNELS.testHook, type: "webhook", ok: true, status: 200 },
      { name: CHANNELS.testPd, type: "pagerduty", ok: true, status: 200 },
      { name: CHANNELS.testTeams, type: "teams", ok: true, status: 200 },
      { name: CHANNELS.testGone, type: "webhook", ok: false, status: 400, error: "HTTP 400: no hook at [redacted] ([redacted])" },
    ]);

    const [hook] = await received(CHANNELS.testHook);
    const payload = verify(hook!) as WebhookPayload;
    expect(payload).toEqual({
      type: "test",
      timestamp: new Date(T0).toISOString(),
      data: {
        dashboard: "n9",
        dashboardName: "Notify 9",
        message: "Test notification from the Notify 9 dashboard: alerts reach this channel",
        eventId: `test-${T0}`,
        url: "https://dash.example.com/?dashboard=n9",
      },
    });
    // PagerDuty has no test event: a trigger of severity info, resolved at once.
    const pd = await bodies<Record<string, any>>(CHANNELS.testPd); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(pd.map((e) => [e.event_action, e.dedup_key, e.payload?.severity ?? null])).toEqual([
      ["trigger", "n9/test", "info"],
      ["resolve", "n9/test", null],
    ]);
    const [teams] = await bodies<Record<string, any>>(CHANNELS.testTeams); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(teams!.attachments[0].content.body[0].text).toBe(
      "🔔 Notify 9: Test notification from the Notify 9 dashboard: alerts reach this channel",
    );

    // Tests reach people: one per 10 s per dashboard.
    const again = await sendTest("n9", TOKEN);
    expect(again.status).toBe(429);
    expect(again.headers.get("Retry-After")).toBe("10");
    expect(await again.json()).toMatchObject({ error: "rate_limited" });
    advance(10_000);
    expect((await sendTest("n9", TOKEN)).status).toBe(200);
    // A test is not a transition: the channels' counts stay as they were.
    expect((await notifications("n9")).channels.map((c) => c.delivered + c.failed + c.pending)).toEqual([0, 0, 0, 0]);
  });

  it("POST …/notifications/test on a dashboard without channels is a 404 that says how to add them", async () => {
    const response = await sendTest("t1", TOKEN);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: "no_channels",
      message: 'Dashboard "t1" has no notification channels: list them in its notify (docs/notifications.md)',
    });
  });
});
