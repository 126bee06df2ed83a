// NOTIFY, each dashboard's `notify` and PUBLIC_URL as the Worker reads them at startup: defaults,
// secrets read from "$NAME", and a message naming the entry for every bad one, which never
// repeats a URL, a key or a secret.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ConfigError, readConfig } from "../../core/config/index.ts";
import { PAGERDUTY_EVENTS_URL } from "../../core/config/notify.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/Fq9cD3Qpiw=";
const SECRETS = {
  SLACK_OPS_URL: "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX",
  PD_ROUTING_KEY: "0123456789abcdef0123456789abcdef",
  AUDIT_WEBHOOK_SECRET: SECRET,
  PLAIN_HTTP_URL: "http://hooks.internal.example/secret-path",
  SHORT_SECRET: "whsec_c2hvcnQ=",
};
const config = (NOTIFY: unknown, notify: unknown = [], extra: Record<string, unknown> = {}) =>
  readConfig({ ...env, ...SECRETS, NOTIFY, DASHBOARDS: [{ id: "shop", notify }, { id: "other" }], ...extra } as unknown as Env);

describe("NOTIFY", () => {
  it("reads each type with its defaults, secrets from $NAME, and each dashboard's channels in its order", () => {
    const c = config(
      [
        { name: "ops", type: "slack", url: "$SLACK_OPS_URL" },
        { name: "oncall", type: "pagerduty", routingKey: "$PD_ROUTING_KEY", minLevel: "critical" },
        { name: "audit", type: "webhook", url: "https://hooks.example.com/dash", secret: "$AUDIT_WEBHOOK_SECRET" },
        { name: "chat", type: "discord", url: "https://discord.com/api/webhooks/1/abc", repeatMinutes: 60, checks: false },
        { name: "team", type: "teams", url: "http://127.0.0.1:9/hook", timeoutMs: 2500 },
      ],
      ["oncall", "ops", "audit", "chat", "team"],
      { PUBLIC_URL: "https://dash.example.com" },
    );
    expect(c.notify.get("other")).toBeUndefined();
    expect(c.notify.get("shop")).toEqual([
      {
        name: "oncall",
        type: "pagerduty",
        url: PAGERDUTY_EVENTS_URL,
        routingKey: SECRETS.PD_ROUTING_KEY,
        minLevel: "critical",
        repeatMinutes: 0,
        checks: true,
        timeoutMs: 10_000,
      },
      { name: "ops", type: "slack", url: SECRETS.SLACK_OPS_URL, minLevel: "warning", repeatMinutes: 0, checks: true, timeoutMs: 10_000 },
      {
        name: "audit",
        type: "webhook",
        url: "https://hooks.example.com/dash",
        secret: SECRET.slice(6),
        minLevel: "warning",
        repeatMinutes: 0,
        checks: true,
        timeoutMs: 10_000,
      },
      {
        name: "chat",
        type: "discord",
        url: "https://discord.com/api/webhooks/1/abc",
        minLevel: "warning",
        repeatMinutes: 60,
        checks: false,
        timeoutMs: 10_000,
      },
      { name: "team", type: "teams", url: "http://127.0.0.1:9/hook", minLevel: "warning", repeatMinutes: 0, checks: true, timeoutMs: 2500 },
    ]);
    expect(PAGERDUTY_EVENTS_URL).toBe("https://events.pagerduty.com/v2/enqueue");
    expect(c.publicUrl).toBe("https://dash.example.com/");
    // Unset, empty: no channels, no links.
    const DASHBOARDS = [{ id: "shop" }];
    const none = readConfig({ ...env, DASHBOARDS, NOTIFY: undefined, PUBLIC_URL: undefined } as unknown as Env);
    expect([none.notify.size, none.publicUrl]).toEqual([0, null]);
    expect(readConfig({ ...env, DASHBOARDS, NOTIFY: [], PUBLIC_URL: "" } as unknown as Env).notify.size).toBe(0);
  });

  const ops = { name: "ops", type: "slack", url: "$SLACK_OPS_URL" };
  it.each([
    ["a list", { name: "ops" }, [], "NOTIFY must be a list of { name, type, url?, … }"],
    ["a name", [{ type: "slack", url: "https://x.example/" }], [], "NOTIFY[0]: name undefined must match"],
    ["a unique name", [ops, ops], [], 'NOTIFY: channel "ops" is defined twice'],
    [
      "a known type",
      [{ name: "ops", type: "sms", url: "https://x.example/" }],
      [],
      'NOTIFY: channel "ops": type "sms" is not one of slack, discord, teams, pagerduty, webhook',
    ],
    ["known keys", [{ ...ops, channel: "#ops" }], [], 'NOTIFY: channel "ops": unknown key "channel"'],
    ["a url", [{ name: "ops", type: "slack" }], [], 'NOTIFY: channel "ops": url is required'],
    [
      "a URL that is one",
      [{ name: "ops", type: "slack", url: "hooks.slack.com/services/T000/B000/XXXX" }],
      [],
      'NOTIFY: channel "ops": url: the value is not a URL (not shown)',
    ],
    [
      "https",
      [{ name: "ops", type: "slack", url: "http://hooks.slack.com/services/T000/B000/XXXX" }],
      [],
      'NOTIFY: channel "ops": url: the value must be https:// (http:// only to localhost or 127.0.0.1)',
    ],
    [
      "https from a secret",
      [{ name: "ops", type: "slack", url: "$PLAIN_HTTP_URL" }],
      [],
      'NOTIFY: channel "ops": url: the secret PLAIN_HTTP_URL must be https://',
    ],
    [
      "a secret that is set",
      [{ name: "ops", type: "slack", url: "$NOT_SET" }],
      [],
      'NOTIFY: channel "ops": url is "$NOT_SET", but the secret NOT_SET is not set',
    ],
    ["a routing key", [{ name: "pd", type: "pagerduty" }], [], 'NOTIFY: channel "pd": routingKey is required'],
    [
      "a routing key from a secret",
      [{ name: "pd", type: "pagerduty", routingKey: "0123456789abcdef0123456789abcdef" }],
      [],
      'NOTIFY: channel "pd": routingKey must be "$NAME"',
    ],
    [
      "a signing secret",
      [{ name: "audit", type: "webhook", url: "https://x.example/" }],
      [],
      'NOTIFY: channel "audit": secret is required for a webhook',
    ],
    [
      "a Standard Webhooks secret",
      [{ name: "audit", type: "webhook", url: "https://x.example/", secret: "$SHORT_SECRET" }],
      [],
      'NOTIFY: channel "audit": secret: the secret must be whsec_ and 24–64 bytes in base64',
    ],
    [
      "a secret only on a webhook",
      [{ ...ops, secret: "$AUDIT_WEBHOOK_SECRET" }],
      [],
      'NOTIFY: channel "ops": secret is for webhook channels only',
    ],
    ["a known level", [{ ...ops, minLevel: "info" }], [], 'NOTIFY: channel "ops": minLevel must be "warning" or "critical"'],
    [
      "whole minutes",
      [{ ...ops, repeatMinutes: 1.5 }],
      [],
      'NOTIFY: channel "ops": repeatMinutes must be a whole number from 0 to 1440, got 1.5',
    ],
    [
      "a timeout of 1–10 s",
      [{ ...ops, timeoutMs: 30_000 }],
      [],
      'NOTIFY: channel "ops": timeoutMs must be a whole number from 1000 to 10000',
    ],
    [
      "channels that exist",
      [ops],
      ["ops", "oncall"],
      'DASHBOARDS: dashboard "shop": notify names "oncall", which NOTIFY does not define (it defines ops)',
    ],
    ["a list of names", [ops], "ops", 'DASHBOARDS: dashboard "shop": notify must be a list of channel names from NOTIFY'],
    ["each name once", [ops], ["ops", "ops"], 'DASHBOARDS: dashboard "shop": notify names a channel twice'],
  ])("needs %s, or stops the Worker naming the entry", (_what, notify, names, message) => {
    const read = () => config(notify, names);
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(message);
    // No message repeats a credential, whether it was written in place or read from a secret.
    const text = (() => {
      try {
        read();
      } catch (err) {
        return (err as Error).message;
      }
    })()!;
    for (const secret of [...Object.values(SECRETS), "hooks.slack.com", "0123456789abcdef"]) expect(text).not.toContain(secret);
  });

  it.each([
    ["dash.example.com", "PUBLIC_URL is not a URL like https://dash.example.com"],
    ["ftp://dash.example.com", "PUBLIC_URL must be http(s)"],
    ["https://dash.example.com/?dashboard=x", "PUBLIC_URL must have no query or fragment"],
  ])("PUBLIC_URL %j is refused", (value, message) => {
    expect(() => config([], [], { PUBLIC_URL: value })).toThrow(message);
  });

  it("PUBLIC_URL with a path links below it", () => {
    expect(config([], [], { PUBLIC_URL: "https://example.com/dash" }).publicUrl).toBe("https://example.com/dash/");
  });
});
