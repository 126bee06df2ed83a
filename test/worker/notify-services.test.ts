// What PagerDuty, Slack, Discord and Teams receive from the dashboard's object, checked field by
// field against each service's documented shape and limits, and what a burst of transitions
// becomes: grouped, bounded, the oldest dropped and counted. Real receivers on local ports; the
// test's clock (test/worker/notify-helpers.ts).
import { runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CHANNELS, PUBLIC_URL } from "../setup/notify.ts";
import { stub } from "./helpers.ts";
import { advance, bodies, channel, checkRun, iso, publish, received, runAlarm, T0, useTestClock } from "./notify-helpers.ts";

beforeEach(useTestClock);
afterEach(() => vi.useRealTimers());

type Json = Record<string, unknown> & { [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("PagerDuty (Events API v2)", () => {
  it("triggers and resolves each metric and check with one dedup_key; a minLevel=critical channel hears only critical and its resolve", async () => {
    const [warning, critical, resolved] = await publish("n3", { queue_depth: 150 }, { queue_depth: 600 }, { queue_depth: 50 });
    const down = await checkRun("n3", false);
    advance(10_000);
    const up = await checkRun("n3", true);
    // A warning that never became critical: nothing at all for the critical-only channel.
    await publish("n3", { success_ratio: 97.5 }, { success_ratio: 99.9 });
    await runAlarm("n3");

    const events = await bodies<Json>(CHANNELS.pd);
    expect(events.map((e) => [e.event_action, e.dedup_key, e.payload?.severity ?? null])).toEqual([
      ["trigger", "n3/metric:queue_depth", "warning"],
      ["trigger", "n3/metric:queue_depth", "critical"],
      ["resolve", "n3/metric:queue_depth", null],
      ["trigger", "n3/check:db", "critical"],
      ["resolve", "n3/check:db", null],
      ["trigger", "n3/metric:success_ratio", "warning"],
      ["resolve", "n3/metric:success_ratio", null],
    ]);
    for (const e of events) {
      expect(e.routing_key).toBe("R0ut1ngKey0fTheTestIntegration00");
      expect(e.dedup_key.length).toBeLessThanOrEqual(255);
    }
    const trigger = events[1]!;
    expect(Object.keys(trigger).sort()).toEqual(["client", "client_url", "dedup_key", "event_action", "links", "payload", "routing_key"]);
    expect(trigger.payload).toEqual({
      summary: "Notify 3: Queue depth 600 jobs is above critical threshold 500 jobs",
      source: "n3",
      severity: "critical",
      timestamp: iso(T0),
      component: "queue_depth",
      group: "n3",
      class: "metric",
      custom_details: {
        dashboard: "n3",
        dashboardName: "Notify 3",
        metric: "queue_depth",
        level: "critical",
        previousLevel: "warning",
        value: 600,
        threshold: 500,
        message: "Queue depth 600 jobs is above critical threshold 500 jobs",
        eventId: critical,
        url: `${PUBLIC_URL}?dashboard=n3`,
      },
    });
    expect(trigger.links).toEqual([{ href: `${PUBLIC_URL}?dashboard=n3`, text: "Notify 3 dashboard" }]);
    // A resolve carries only what the API needs to close the incident.
    expect(events[2]).toEqual({
      routing_key: "R0ut1ngKey0fTheTestIntegration00",
      event_action: "resolve",
      dedup_key: "n3/metric:queue_depth",
    });
    expect(events[3]!.payload).toMatchObject({
      class: "check",
      component: "db",
      summary: 'Notify 3: check "db" is down: expected 200, got 503',
    });

    const critic = await bodies<Json>(CHANNELS.pdCritical);
    expect(critic.map((e) => [e.event_action, e.dedup_key])).toEqual([
      ["trigger", "n3/metric:queue_depth"],
      ["resolve", "n3/metric:queue_depth"],
    ]);
    expect(await channel("n3", CHANNELS.pdCritical)).toMatchObject({
      delivered: 2,
      alerts: { [critical!]: "sent", [resolved!]: "sent" },
    });
    expect((await channel("n3", CHANNELS.pdCritical)).alerts[warning!]).toBeUndefined();
    expect((await channel("n3", CHANNELS.pd)).alerts).toMatchObject({ [down]: "sent", [up]: "sent" });
  });
});

describe("chat: Slack, Discord and Teams", () => {
  it("get the transitions of a few seconds as one message each, in each service's documented shape, linking to the dashboard", async () => {
    const [latency, success] = await publish("n4", { queue_depth: 620, success_ratio: 90 });
    advance(1_000);
    const down = await checkRun("n4", false);
    await runAlarm("n4"); // still collecting: the window is 3 s
    for (const hook of [CHANNELS.slack, CHANNELS.discord, CHANNELS.teams]) expect(await received(hook)).toEqual([]);
    advance(2_000);
    await runAlarm("n4");
    advance(60_000);
    const [back] = await publish("n4", { queue_depth: 3 });
    advance(3_000);
    await runAlarm("n4");

    const dashboardUrl = `${PUBLIC_URL}?dashboard=n4`;
    const [slack, slackResolve] = await bodies<Json>(CHANNELS.slack);
    expect(await bodies(CHANNELS.slack)).toHaveLength(2);
    // Slack incoming webhook: `text` (the notification) and Block Kit blocks within their limits.
    expect(Object.keys(slack!).sort()).toEqual(["blocks", "text"]);
    expect(slack!.text).toBe("Notify 4: 3 changes (3 critical)");
    expect(slack!.blocks.length).toBeLessThanOrEqual(50);
    expect(slack!.blocks.map((b: Json) => b.type)).toEqual(["header", "section", "section", "section", "context", "actions"]);
    expect(slack!.blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: "Notify 4: 3 changes (3 critical)", emoji: true },
    });
    for (const b of slack!.blocks.slice(1, 4)) {
      expect(b.text.type).toBe("mrkdwn");
      expect(b.text.text.length).toBeLessThanOrEqual(3000);
    }
    expect(slack!.blocks[1].text.text).toBe("🔴 *Critical* · Queue depth\nQueue depth 620 jobs is above critical threshold 500 jobs");
    expect(slack!.blocks[2].text.text).toBe("🔴 *Critical* · Success\nSuccess 90% is below critical threshold 95%");
    expect(slack!.blocks[3].text.text).toBe('🔴 *Down* · check db\ncheck "db" is down: expected 200, got 503');
    expect(slack!.blocks[4]).toEqual({ type: "context", elements: [{ type: "mrkdwn", text: "*Notify 4* · 09:00:01 UTC" }] });
    expect(slack!.blocks[5]).toEqual({
      type: "actions",
      elements: [{ type: "button", text: { type: "plain_text", text: "Open dashboard" }, url: dashboardUrl }],
    });
    expect(slackResolve!.text).toBe("✅ Notify 4: Queue depth back to normal at 3 jobs (below 100 jobs)");

    // Discord execute webhook: content and an embed per transition, within every limit.
    const [discord] = await bodies<Json>(CHANNELS.discord);
    expect(Object.keys(discord!).sort()).toEqual(["allowed_mentions", "content", "embeds"]);
    expect(discord!.allowed_mentions).toEqual({ parse: [] });
    expect(discord!.content).toBe(`Notify 4: 3 changes (3 critical)\n<${dashboardUrl}> · 09:00:01 UTC`);
    expect(discord!.content.length).toBeLessThanOrEqual(2000);
    expect(discord!.embeds).toHaveLength(3);
    expect(discord!.embeds.length).toBeLessThanOrEqual(10);
    expect(discord!.embeds[0]).toEqual({
      title: "🔴 Critical: Queue depth",
      description: "Queue depth 620 jobs is above critical threshold 500 jobs",
      color: 0xd93025,
      timestamp: iso(T0),
      url: dashboardUrl,
    });
    expect(discord!.embeds[2]).toMatchObject({ title: "🔴 Down: check db", timestamp: iso(T0 + 1_000), footer: { text: "Notify 4" } });
    let total = 0;
    for (const e of discord!.embeds) {
      expect(e.title.length).toBeLessThanOrEqual(256);
      expect(e.description.length).toBeLessThanOrEqual(4096);
      total += e.title.length + e.description.length + (e.footer?.text.length ?? 0);
    }
    expect(total).toBeLessThanOrEqual(6000);

    // Teams Workflows: a message whose attachment is an Adaptive Card.
    const [teams] = await bodies<Json>(CHANNELS.teams);
    expect(teams!.type).toBe("message");
    expect(teams!.attachments).toHaveLength(1);
    const { contentType, content } = teams!.attachments[0];
    expect(contentType).toBe("application/vnd.microsoft.card.adaptive");
    expect(content).toMatchObject({ $schema: "http://adaptivecards.io/schemas/adaptive-card.json", type: "AdaptiveCard", version: "1.4" });
    expect(content.body.every((b: Json) => b.type === "TextBlock" && b.wrap === true)).toBe(true);
    expect(content.body.map((b: Json) => b.text)).toEqual([
      "Notify 4: 3 changes (3 critical)",
      "🔴 **Critical** · Queue depth: Queue depth 620 jobs is above critical threshold 500 jobs",
      "🔴 **Critical** · Success: Success 90% is below critical threshold 95%",
      '🔴 **Down** · check db: check "db" is down: expected 200, got 503',
      "Notify 4 · 09:00:01 UTC",
    ]);
    expect(content.body[1].color).toBe("Attention");
    expect(content.actions).toEqual([{ type: "Action.OpenUrl", title: "Open dashboard", url: dashboardUrl }]);
    expect(JSON.stringify(teams).length).toBeLessThan(28 * 1024);

    expect(await channel("n4", CHANNELS.discord)).toMatchObject({
      delivered: 2,
      alerts: { [latency!]: "sent", [success!]: "sent", [down]: "sent", [back!]: "sent" },
    });
  });
});

describe("a burst of 1,000 transitions", () => {
  it("is bounded: a webhook keeps the newest 100 messages, a chat channel one message of the newest 10; the rest are counted as dropped", async () => {
    const burst = (n: number) => Array.from({ length: n }, (_, i) => ({ queue_depth: i % 2 === 0 ? 900 : 10 }));
    const rows = async () => (await stub("n5").stats()).storage.rowsWritten;
    const before = await rows();
    const first = await publish("n5", ...burst(1000));
    expect(first).toHaveLength(1000);
    const written = (await rows()) - before;
    const queued = () =>
      runInDurableObject(stub("n5"), (_o, state) =>
        state.storage.sql
          .exec<{ channel: string; n: number }>("SELECT channel, COUNT(*) AS n FROM notify_queue GROUP BY channel ORDER BY channel")
          .toArray(),
      );
    expect(await queued()).toEqual([
      { channel: CHANNELS.burstChat, n: 1 },
      { channel: CHANNELS.burstHook, n: 100 },
    ]);
    // The queues add their rows and one state row per channel, not one per transition (the log,
    // the history and the alert state write the rest).
    expect(written).toBeLessThan(150);
    expect(await channel("n5", CHANNELS.burstHook)).toMatchObject({ pending: 100, dropped: 900 });
    expect(await channel("n5", CHANNELS.burstChat)).toMatchObject({ pending: 1, dropped: 990 });
    // More while the queue is full: the oldest queued messages make room; the chat message, still
    // in its 3 s, takes them.
    advance(1_000);
    const second = await publish("n5", ...burst(50));
    expect(await queued()).toEqual([
      { channel: CHANNELS.burstChat, n: 1 },
      { channel: CHANNELS.burstHook, n: 100 },
    ]);
    expect(await channel("n5", CHANNELS.burstHook)).toMatchObject({ pending: 100, dropped: 950 });
    const ids = [...first, ...second];

    advance(3_000);
    for (let i = 0; i < 6; i++) await runAlarm("n5"); // 20 messages per channel per alarm: it comes back for the rest
    const hooks = await received(CHANNELS.burstHook);
    expect(hooks.map((r) => r.headers["webhook-id"])).toEqual(ids.slice(-100).map((id) => `msg_n5_${id}`));
    const [chat, ...more] = await bodies<Json>(CHANNELS.burstChat);
    expect(more).toEqual([]);
    expect(chat!.embeds).toHaveLength(10);
    expect(chat!.content).toContain("1050 changes (5 critical, 5 resolved, 1040 earlier not shown)");
    const status = await channel("n5", CHANNELS.burstChat);
    expect(status).toMatchObject({ delivered: 1, dropped: 1040, pending: 0 });
    // The page's view is bounded too: the newest 100 events, each with its fate.
    expect(Object.keys(status.alerts)).toEqual(ids.slice(-100));
    expect(new Set(Object.values(status.alerts))).toEqual(new Set(["dropped", "sent"]));
    expect(Object.values(status.alerts).slice(-10)).toEqual(Array(10).fill("sent"));
  });
});
