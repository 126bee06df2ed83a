// Notifications delivered from the dashboard's object to real HTTP receivers on local ports
// (test/setup/notify-receivers.global.ts), through its durable queue and its alarm. The clock is
// the test's (far ahead of the real one, so no alarm fires by itself): each retry is one alarm
// run at the time the schedule names, never a real wait. Only the last test lets the real alarm
// fire, as in production.
import { abortAllDurableObjects, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LIVE_WINDOW_SECONDS, type WebhookPayload } from "../../contract/index.ts";
import { CHANNELS, PUBLIC_URL } from "../setup/notify.ts";
import { openStream, stub } from "./helpers.ts";
import {
  advance,
  bodies,
  channel,
  checkRun,
  iso,
  listener,
  publish,
  received,
  runAlarm,
  script,
  T0,
  useTestClock,
  verify,
} from "./notify-helpers.ts";

beforeEach(useTestClock);
afterEach(() => vi.useRealTimers());

const seconds = (ms: number) => String(Math.floor(ms / 1000));

describe("delivery to a webhook", () => {
  it("a receiver that answers 503, then 429 with Retry-After, hangs past the timeout and refuses connections gets every message once it recovers: in order, each with one webhook-id and a valid signature", async () => {
    const hook = CHANNELS.flaky;
    await script(hook, ["503", "429:7", "hang"]);
    const ids = await publish("n1", { queue_depth: 150 }, { queue_depth: 600 }, { queue_depth: 10 });
    expect(ids).toHaveLength(3);
    // The publish answered before any attempt: queued, nothing sent.
    expect(await received(hook)).toEqual([]);
    expect(await channel("n1", hook)).toMatchObject({ pending: 3, delivered: 0, nextAttempt: iso(T0) });

    expect(await runAlarm("n1")).toBe(true); // 503
    expect(await channel("n1", hook)).toMatchObject({
      pending: 3,
      lastAttempt: iso(T0),
      lastError: { at: iso(T0), status: 503, reason: "HTTP 503: step 503" },
      nextAttempt: iso(T0 + 5_000),
    });
    advance(4_000);
    await runAlarm("n1"); // not due yet: nothing is sent
    expect(await received(hook)).toHaveLength(1);
    advance(1_000);
    await runAlarm("n1"); // 429, Retry-After: 7 (instead of the schedule's 30 s)
    expect(await channel("n1", hook)).toMatchObject({ lastError: { status: 429 }, nextAttempt: iso(T0 + 12_000) });
    advance(7_000);
    await runAlarm("n1"); // hangs: given up after the channel's timeout (1 s here, 10 s by default)
    expect(await channel("n1", hook)).toMatchObject({
      lastError: { reason: "timeout after 1 s" },
      nextAttempt: iso(T0 + 12_000 + 120_000),
    });
    await listener(false);
    advance(120_000);
    await runAlarm("n1"); // connection refused
    const refused = await channel("n1", hook);
    expect(refused.lastError!.reason).toMatch(/^network error/);
    expect(refused.lastError!.status).toBeUndefined();
    expect(refused.nextAttempt).toBe(iso(T0 + 132_000 + 600_000));
    await listener(true);
    advance(600_000);
    await runAlarm("n1"); // back: all three go, in order
    expect(await runAlarm("n1")).toBe(false); // nothing left, so no alarm is set

    const requests = await received(hook);
    const attempts = requests.map((r) => [r.headers["webhook-id"], r.headers["webhook-timestamp"]]);
    expect(attempts).toEqual([
      [`msg_n1_${ids[0]}`, seconds(T0)],
      [`msg_n1_${ids[0]}`, seconds(T0 + 5_000)],
      [`msg_n1_${ids[0]}`, seconds(T0 + 12_000)],
      // (the refused attempt at T0 + 132 s never reached it)
      [`msg_n1_${ids[0]}`, seconds(T0 + 732_000)],
      [`msg_n1_${ids[1]}`, seconds(T0 + 732_000)],
      [`msg_n1_${ids[2]}`, seconds(T0 + 732_000)],
    ]);
    for (const r of requests) expect(verify(r)).toEqual(JSON.parse(r.body));
    // A retry sends the same body; only the timestamp and so the signature change.
    expect(new Set(requests.slice(0, 4).map((r) => r.body)).size).toBe(1);
    expect(new Set(requests.slice(0, 4).map((r) => r.headers["webhook-signature"])).size).toBe(4);
    const sent = requests.slice(3).map((r) => JSON.parse(r.body) as WebhookPayload);
    expect(sent.map((b) => [b.type, b.data.level, b.data.previousLevel ?? null, b.data.value, b.data.threshold])).toEqual([
      ["alert.raised", "warning", null, 150, 100],
      ["alert.raised", "critical", "warning", 600, 500],
      ["alert.resolved", "resolved", "critical", 10, 100],
    ]);
    expect(sent[0]).toEqual({
      type: "alert.raised",
      timestamp: iso(T0),
      data: {
        dashboard: "n1",
        dashboardName: "Notify 1",
        metric: "queue_depth",
        level: "warning",
        value: 150,
        threshold: 100,
        message: "Queue depth 150 jobs is above warning threshold 100 jobs",
        eventId: ids[0],
        url: `${PUBLIC_URL}?dashboard=n1`,
      },
    });
    expect(await channel("n1", hook)).toMatchObject({
      delivered: 3,
      pending: 0,
      failed: 0,
      lastSuccess: iso(T0 + 732_000),
      nextAttempt: null,
      alerts: Object.fromEntries(ids.map((id) => [id, "sent"])),
    });
  });

  it("deliveries pending when the object restarts are delivered by the restarted object, in order, with the same webhook-id", async () => {
    const hook = CHANNELS.restart;
    await script(hook, ["503"]);
    const [raised] = await publish("n2", { queue_depth: 700 });
    const down = await checkRun("n2", false);
    const [resolved] = await publish("n2", { queue_depth: 5 });
    await runAlarm("n2"); // 503: all three wait
    await abortAllDurableObjects(); // a deploy, an eviction or a crash
    // Everything the queue knew survived: counts, the last error, when to try next.
    expect(await channel("n2", hook)).toMatchObject({ pending: 3, lastError: { status: 503 }, nextAttempt: iso(T0 + 5_000) });
    advance(5_000);
    expect(await runAlarm("n2")).toBe(true); // the alarm survived too
    const requests = await received(hook);
    expect(requests.map((r) => r.headers["webhook-id"])).toEqual([raised, raised, down, resolved].map((id) => `msg_n2_${id}`));
    expect(requests.map((r) => (JSON.parse(r.body) as WebhookPayload).type)).toEqual([
      "alert.raised",
      "alert.raised",
      "check.down",
      "alert.resolved",
    ]);
    for (const r of requests) verify(r);
    expect(await channel("n2", hook)).toMatchObject({ delivered: 3, pending: 0 });
  });

  it("a 4xx other than 429 fails the message at once, says why, and the next one goes", async () => {
    const hook = CHANNELS.gone;
    await script(hook, ["404"]);
    const [first, second] = await publish("n7", { success_ratio: 97 }, { success_ratio: 99.9 });
    await runAlarm("n7");
    expect((await received(hook)).map((r) => r.headers["webhook-id"])).toEqual([`msg_n7_${first}`, `msg_n7_${second}`]);
    expect(await channel("n7", hook)).toMatchObject({
      delivered: 1,
      failed: 1,
      pending: 0,
      lastError: { status: 404, reason: "HTTP 404: step 404" },
      alerts: { [first!]: "failed", [second!]: "sent" },
    });
  });

  it("retries about 5 s, 30 s, 2 min, 10 min, 30 min, then hourly, and gives up 24 h after the message was queued", async () => {
    const hook = CHANNELS.gone;
    await script(
      hook,
      Array.from({ length: 40 }, () => "502"),
    );
    const before = (await received(hook)).length;
    const [id] = await publish("n7", { queue_depth: 800 });
    for (let i = 0; i < 40; i++) {
      const { nextAttempt } = await channel("n7", hook);
      if (nextAttempt === null) break;
      vi.setSystemTime(Date.parse(nextAttempt));
      await runAlarm("n7");
    }
    const times = (await received(hook)).slice(before).map((r) => Number(r.headers["webhook-timestamp"]) - T0 / 1000);
    const hourly = Array.from({ length: 23 }, (_, i) => 2555 + (i + 1) * 3600);
    expect(times).toEqual([0, 5, 35, 155, 755, 2555, ...hourly]);
    // The next try would be past 24 h: the 29th failure is the last.
    expect(times).toHaveLength(29);
    expect(times[times.length - 1]! + 3600).toBeGreaterThan(24 * 3600);
    const status = await channel("n7", hook);
    expect(status).toMatchObject({ failed: 2, pending: 0, nextAttempt: null, alerts: { [id!]: "failed" } });
    expect(status.lastError!.reason).toBe("HTTP 502: step 502 (given up: still failing 24 h after it was queued)");
  });
});

describe("reminders", () => {
  it("repeat a critical alert every repeatMinutes until it is no longer critical, and a down check until it is up", async () => {
    const hook = CHANNELS.remind;
    const [raised] = await publish("n6", { queue_depth: 900 });
    await runAlarm("n6");
    advance(4 * 60_000);
    await runAlarm("n6"); // not yet
    advance(60_000);
    await runAlarm("n6"); // 5 min: a reminder
    advance(5 * 60_000);
    await runAlarm("n6"); // 10 min: another
    const [lowered] = await publish("n6", { queue_depth: 200 }); // warning: no more reminders
    const down = await checkRun("n6", false);
    await runAlarm("n6");
    advance(5 * 60_000);
    await runAlarm("n6"); // the check's reminder only
    const up = await checkRun("n6", true);
    const [resolved] = await publish("n6", { queue_depth: 1 });
    await runAlarm("n6");
    advance(60 * 60_000);
    expect(await runAlarm("n6")).toBe(false); // nothing raised: no alarm left

    const requests = await received(hook);
    const sent = requests.map((r) => JSON.parse(r.body) as WebhookPayload);
    expect(sent.map((b) => [b.type, b.data.metric ?? b.data.check, b.data.level, b.data.eventId])).toEqual([
      ["alert.raised", "queue_depth", "critical", raised],
      ["alert.reminder", "queue_depth", "critical", raised],
      ["alert.reminder", "queue_depth", "critical", raised],
      ["alert.raised", "queue_depth", "warning", lowered],
      ["check.down", "db", "critical", down],
      ["alert.reminder", "db", "critical", down],
      ["check.up", "db", "resolved", up],
      ["alert.resolved", "queue_depth", "resolved", resolved],
    ]);
    expect(sent[1]!.data.since).toBe(iso(T0));
    expect(sent[1]!.timestamp).toBe(iso(T0 + 5 * 60_000));
    // Each reminder is a message of its own (its own webhook-id), signed like the rest.
    expect(new Set(requests.map((r) => r.headers["webhook-id"])).size).toBe(requests.length);
    for (const r of requests) verify(r);
  });
});

describe("rows", () => {
  it("a transition costs a channel 4 rows written: its message queued and deleted, the channel's state written twice", async () => {
    // n10 has one webhook channel; n11 is the same dashboard without channels.
    const cost = async (dashboard: string) => {
      await publish(dashboard, { queue_depth: 1 });
      const rows = async () => (await stub(dashboard).stats()).storage.rowsWritten;
      const before = await rows();
      await publish(dashboard, { queue_depth: 600 });
      await runAlarm(dashboard);
      await publish(dashboard, { queue_depth: 6 });
      await runAlarm(dashboard);
      return (await rows()) - before;
    };
    const [notified, plain] = [await cost("n10"), await cost("n11")];
    expect((await bodies(CHANNELS.feed)).map((b) => b.type)).toEqual(["alert.raised", "alert.resolved"]);
    expect(notified - plain).toBe(2 * 4);
    // Nothing is left behind in the queue.
    const left = await runInDurableObject(
      stub("n10"),
      (_o, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM notify_queue").one().n,
    );
    expect(left).toBe(0);
  });
});

describe("the real alarm", () => {
  it("fires by itself: a raise reaches the receiver within seconds, with nobody watching", async () => {
    vi.useRealTimers();
    const [id] = await publish("n8", { queue_depth: 650 });
    const deadline = Date.now() + 15_000;
    while ((await received(CHANNELS.live)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const [request] = await received(CHANNELS.live);
    expect(request?.headers["webhook-id"]).toBe(`msg_n8_${id}`);
    expect(request!.at - Date.parse((JSON.parse(request!.body) as WebhookPayload).timestamp)).toBeLessThan(15_000);
    const response = await SELF.fetch("https://dash.test/api/dashboards/n8/notifications");
    expect(((await response.json()) as { channels: { delivered: number }[] }).channels[0]!.delivered).toBe(1);
  });
});

describe("backfilled ticks", () => {
  it("alerts among the ticks a simulated dashboard's first viewer fills in are history: shown, not sent", async () => {
    const stream = await openStream(`/api/dashboards/n12/events?history=${LIVE_WINDOW_SECONDS}&logs=none`);
    const [, alert] = await stream.waitFor(2);
    expect(alert).toMatchObject({ event: "alert", data: expect.stringContaining('"level":"critical"') });
    await stream.close();
    await runAlarm("n12");
    expect(await received(CHANNELS.backfill)).toEqual([]);
    expect(await channel("n12", CHANNELS.backfill)).toMatchObject({ delivered: 0, pending: 0, alerts: {} });
  });
});
