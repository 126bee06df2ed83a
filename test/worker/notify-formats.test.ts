// The pure parts of notifications: which alert events are news to a channel, the services'
// message shapes at their limits (long messages, many transitions, characters a service treats
// as markup), the Standard Webhooks signature against the specification's own example and the
// official library, and the retry schedule.
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { NotifyChannel } from "../../core/config/index.ts";
import { discordMessage } from "../../durable-objects/notify/formats/discord.ts";
import { dedupKey, pagerDutyEvent } from "../../durable-objects/notify/formats/pagerduty.ts";
import { slackMessage } from "../../durable-objects/notify/formats/slack.ts";
import { teamsMessage } from "../../durable-objects/notify/formats/teams.ts";
import type { Message, Sender } from "../../durable-objects/notify/formats/text.ts";
import { signatureHeaders, webhookPayload } from "../../durable-objects/notify/formats/webhook.ts";
import { noticeFor, subjectOf, type Notice, type OpenAlert } from "../../durable-objects/notify/notice.ts";
import { retryAfterMs, retryDelay } from "../../durable-objects/notify/retry.ts";
import { scrub } from "../../durable-objects/notify/send.ts";

const sender: Sender = { dashboard: "shop", dashboardName: "Shop", url: "https://dash.example.com/?dashboard=shop" };
const notice = (i: number, message: string, level: Notice["level"] = "critical"): Notice => ({
  type: level === "resolved" ? "alert.resolved" : "alert.raised",
  eventId: `1000-${i}`,
  at: new Date(Date.UTC(2031, 0, 1, 10, 0, i)).toISOString(),
  metric: `m${i}`,
  label: `Metric ${i}`,
  level,
  message,
});
const many = (n: number, length: number): Message => ({
  id: "msg",
  notices: Array.from({ length: n }, (_, i) => notice(i, `${i} `.padEnd(length, "x"))),
  omitted: 0,
});

describe("which events a channel hears", () => {
  const channel = (over: Partial<NotifyChannel> = {}): NotifyChannel => ({
    name: "c",
    type: "webhook",
    url: "https://x.example/",
    minLevel: "warning",
    repeatMinutes: 0,
    checks: true,
    timeoutMs: 10_000,
    ...over,
  });
  /** Runs alerts through a channel as the notifier does; the notices' types and levels. */
  const hear = (c: NotifyChannel, alerts: Record<string, unknown>[]) => {
    const open: Record<string, OpenAlert> = {};
    return alerts.flatMap((a, i) => {
      const subject = subjectOf(a)!;
      const decided = noticeFor(c, open[subject], a, `1-${i}`, () => undefined, 0);
      if (decided.open) open[subject] = decided.open;
      else if (decided.open === null) delete open[subject];
      return decided.notice ? [`${decided.notice.type} ${decided.notice.level} ${decided.notice.previousLevel ?? "-"}`] : [];
    });
  };
  const metric = (level: string, series?: string) => ({
    level,
    metric: "q",
    value: 1,
    threshold: 1,
    message: "m",
    timestamp: "t",
    ...(series ? { series } : {}),
  });
  const check = (status: "down" | "up") => ({
    level: status === "down" ? "critical" : "resolved",
    check: "db",
    status,
    message: "m",
    timestamp: "t",
  });

  it("minLevel warning: every change of level, and the resolve", () => {
    expect(hear(channel(), [metric("warning"), metric("critical"), metric("warning"), metric("resolved")])).toEqual([
      "alert.raised warning -",
      "alert.raised critical warning",
      "alert.raised warning critical",
      "alert.resolved resolved warning",
    ]);
  });

  it("minLevel critical: only critical, and its resolve; a warning that never became critical is not sent, nor its resolve", () => {
    const critical = channel({ minLevel: "critical" });
    expect(hear(critical, [metric("warning"), metric("resolved")])).toEqual([]);
    expect(hear(critical, [metric("warning"), metric("critical"), metric("warning"), metric("critical"), metric("resolved")])).toEqual([
      "alert.raised critical -",
      "alert.raised critical warning",
      "alert.resolved resolved critical",
    ]);
  });

  it("checks: down and up, unless the channel says checks = false; an up never heard down is not sent", () => {
    expect(hear(channel(), [check("up"), check("down"), check("up")])).toEqual(["check.down critical -", "check.up resolved critical"]);
    expect(hear(channel({ checks: false }), [check("down"), check("up")])).toEqual([]);
  });

  it("each series of a split metric is its own alert", () => {
    expect(subjectOf(metric("warning", "host=a"))).not.toBe(subjectOf(metric("warning", "host=b")));
    expect(hear(channel(), [metric("warning", "host=a"), metric("warning", "host=b"), metric("resolved", "host=a")])).toEqual([
      "alert.raised warning -",
      "alert.raised warning -",
      "alert.resolved resolved warning",
    ]);
  });
});

describe("the services' shapes at their limits", () => {
  it("Discord: at most 10 embeds and 6000 characters of embed text, content within 2000, the rest counted", () => {
    const body = discordMessage(sender, many(14, 3000)) as {
      content: string;
      embeds: { title: string; description: string; footer?: { text: string } }[];
    };
    expect(body.embeds).toHaveLength(10);
    const total = body.embeds.reduce((n, e) => n + e.title.length + e.description.length + (e.footer?.text.length ?? 0), 0);
    expect(total).toBeLessThanOrEqual(6000);
    expect(total).toBeGreaterThan(5000); // the room is used, not wasted
    for (const e of body.embeds) expect(e.description.endsWith("…")).toBe(true);
    expect(body.content).toContain("14 changes (10 critical, 4 earlier not shown)");
    expect(body.embeds[0]!.title).toBe("🔴 Critical: Metric 4"); // the newest ten
    const long = discordMessage({ ...sender, dashboardName: "D".repeat(5000) }, many(1, 10)) as {
      content: string;
      embeds: { footer: { text: string } }[];
    };
    expect(long.content.length).toBeLessThanOrEqual(2000);
    expect(long.embeds[0]!.footer.text.length).toBeLessThanOrEqual(2048);
  });

  it("Slack: mrkdwn control characters escaped, a section within 3000 characters even when escaping lengthens it, a header within 150", () => {
    const body = slackMessage(sender, {
      id: "m",
      notices: [notice(1, "<!channel> & <https://evil.example|click> ".repeat(200))],
      omitted: 0,
    }) as {
      text: string;
      blocks: { type: string; text?: { text: string } }[];
    };
    const section = body.blocks[1]!.text!.text;
    expect(section.length).toBeLessThanOrEqual(3000);
    expect(section).not.toMatch(/<|>/);
    expect(section).toContain("&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;");
    expect(body.blocks[0]!.text!.text.length).toBeLessThanOrEqual(150);
    expect(body.text.length).toBeLessThanOrEqual(3000);
    expect(body.text).not.toMatch(/<|>/);
  });

  it("Teams: ten long transitions stay well inside Teams' 28 KB", () => {
    const body = teamsMessage(sender, many(10, 5000));
    expect(JSON.stringify(body).length).toBeLessThan(20 * 1024);
  });

  it("PagerDuty: a dedup_key within 255 characters, distinct for series that differ only at the end", () => {
    const long = (tail: string) => ({ ...notice(1, "m"), metric: "latency", series: `${"x".repeat(300)}${tail}` });
    const [a, b] = [dedupKey("shop", long("a")), dedupKey("shop", long("b"))];
    expect(a.length).toBeLessThanOrEqual(255);
    expect(a).not.toBe(b);
    expect(dedupKey("shop", { ...notice(1, "m"), series: "host=a" })).toBe("shop/metric:m1/host=a");
    const event = pagerDutyEvent("key", sender, notice(1, "y".repeat(2000))) as { payload: { summary: string } };
    expect(event.payload.summary.length).toBe(1024);
  });

  it("webhook: the body's fields, and the signature of the Standard Webhooks specification's example", async () => {
    // https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
    const headers = await signatureHeaders(
      "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      '{"test": 2432232314}',
      1614265330_000,
    );
    expect(headers).toEqual({
      "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
      "webhook-timestamp": "1614265330",
      "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
    const n = { ...notice(3, "m"), series: "host=a", value: 9, threshold: 5 };
    const body = JSON.stringify(webhookPayload(sender, n));
    const now = Date.now();
    const signed = await signatureHeaders("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1", body, now);
    expect(new Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").verify(body, signed)).toEqual({
      type: "alert.raised",
      timestamp: n.at,
      data: {
        dashboard: "shop",
        dashboardName: "Shop",
        metric: "m3",
        series: "host=a",
        level: "critical",
        value: 9,
        threshold: 5,
        message: "m",
        eventId: "1000-3",
        url: sender.url,
      },
    });
    expect(() => new Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").verify(body.replace("9", "8"), signed)).toThrow();
  });
});

describe("retries", () => {
  it("back off about 5 s, 30 s, 2 min, 10 min, 30 min, then hourly", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 30].map(retryDelay)).toEqual([
      5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 3_600_000, 3_600_000,
    ]);
  });

  it("honour Retry-After in seconds or as an HTTP date, within 1 s to 6 h", () => {
    const now = Date.parse("2031-01-01T10:00:00Z");
    expect(retryAfterMs("7", now)).toBe(7_000);
    expect(retryAfterMs("Wed, 01 Jan 2031 10:02:00 GMT", now)).toBe(120_000);
    expect(retryAfterMs("0", now)).toBe(1_000);
    expect(retryAfterMs("86400", now)).toBe(6 * 3_600_000);
    for (const bad of [null, "", "soon", "-5"]) expect(retryAfterMs(bad, now)).toBeUndefined();
  });

  it("errors never repeat the URL, its path (a chat hook's token) or a key", () => {
    const url = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX";
    expect(scrub(`no such hook /services/T000/B000/XXXXSECRETXXXX at ${url} for key K3Y-0123456789`, url, [url, "K3Y-0123456789"])).toBe(
      "no such hook [redacted] at [redacted] for key [redacted]",
    );
    expect(scrub("see https://other.example/x?token=1", url, [])).toBe("see [url]");
  });
});
