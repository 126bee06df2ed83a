// The notification channels and dashboards of the workers project (test/worker/notify-*.test.ts):
// every channel posts to the local receivers (notify-receivers.global.ts), each test its own
// hook, so what a hook received is one test's. No file access: the workerd tests import it too.
import type { Json } from "./dashboards.ts";

/** Above with hysteresis, below with hysteresis: one of each direction. */
const METRICS: Json[] = [
  { name: "queue_depth", label: "Queue depth", unit: "jobs", decimals: 0, min: 0, warning: 100, critical: 500 },
  {
    name: "success_ratio",
    label: "Success",
    unit: "%",
    decimals: 2,
    min: 0,
    max: 100,
    warning: 98,
    critical: 95,
    direction: "below",
    hysteresis: 0.5,
  },
];

/** The secrets the channels name ("$NAME"); the Slack URL is one too, as it would be in production. */
export const NOTIFY_SECRETS = {
  // 32 bytes, base64, as Standard Webhooks secrets are.
  NOTIFY_TEST_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/Fq9cD3Qpiw=",
  NOTIFY_TEST_PD_KEY: "R0ut1ngKey0fTheTestIntegration00",
};
export const PUBLIC_URL = "https://dash.example.com/";

/** The hooks' names, which are also the channels' (hook `<name>` of the receiver). */
export const CHANNELS = {
  /** On the port whose listener the failure test turns off: every kind of failure, then recovery. */
  flaky: "flaky",
  restart: "restart",
  pd: "pd",
  pdCritical: "pd-critical",
  slack: "slack",
  discord: "discord",
  teams: "teams",
  burstHook: "burst-hook",
  burstChat: "burst-chat",
  remind: "remind",
  gone: "gone",
  live: "live",
  testHook: "test-hook",
  testPd: "test-pd",
  testTeams: "test-teams",
  testGone: "test-gone",
  feed: "feed",
  backfill: "backfill",
} as const;

/** NOTIFY, the dashboards that use it (n1–n12), and the secrets it names, for vitest.config.ts. */
export function notifyBindings(receiver: string, switchable: string, checkServer: string) {
  const hook = (name: string, base = receiver) => `${base}/hook/${name}`;
  const signed = { type: "webhook", secret: "$NOTIFY_TEST_WEBHOOK_SECRET", timeoutMs: 1000 };
  const NOTIFY: Json[] = [
    { name: CHANNELS.flaky, url: hook(CHANNELS.flaky, switchable), ...signed },
    { name: CHANNELS.restart, url: hook(CHANNELS.restart), ...signed },
    { name: CHANNELS.pd, type: "pagerduty", url: hook(CHANNELS.pd), routingKey: "$NOTIFY_TEST_PD_KEY" },
    {
      name: CHANNELS.pdCritical,
      type: "pagerduty",
      url: hook(CHANNELS.pdCritical),
      routingKey: "$NOTIFY_TEST_PD_KEY",
      minLevel: "critical",
      checks: false,
    },
    { name: CHANNELS.slack, type: "slack", url: "$NOTIFY_TEST_SLACK_URL" },
    { name: CHANNELS.discord, type: "discord", url: hook(CHANNELS.discord) },
    { name: CHANNELS.teams, type: "teams", url: hook(CHANNELS.teams) },
    { name: CHANNELS.burstHook, url: hook(CHANNELS.burstHook), ...signed },
    { name: CHANNELS.burstChat, type: "discord", url: hook(CHANNELS.burstChat) },
    { name: CHANNELS.remind, url: hook(CHANNELS.remind), ...signed, repeatMinutes: 5 },
    { name: CHANNELS.gone, url: hook(CHANNELS.gone), ...signed },
    { name: CHANNELS.live, url: hook(CHANNELS.live), ...signed },
    { name: CHANNELS.testHook, url: hook(CHANNELS.testHook), ...signed },
    { name: CHANNELS.testPd, type: "pagerduty", url: hook(CHANNELS.testPd), routingKey: "$NOTIFY_TEST_PD_KEY" },
    { name: CHANNELS.testTeams, type: "teams", url: hook(CHANNELS.testTeams) },
    { name: CHANNELS.testGone, url: hook(CHANNELS.testGone), ...signed },
    { name: CHANNELS.feed, url: hook(CHANNELS.feed), ...signed },
    { name: CHANNELS.backfill, url: hook(CHANNELS.backfill), ...signed },
  ];
  // A check each dashboard's tests drive with recordCheck (down and up after one run each); its
  // URL is the check server's, so a cron run from another test finds it up and changes nothing.
  const checks = [{ name: "db", url: `${checkServer}/notify-db`, intervalSeconds: 10, timeoutMs: 1000, downAfter: 1, upAfter: 1 }];
  const dashboard = (i: number, notify: string[]) => ({
    id: `n${i}`,
    name: `Notify ${i}`,
    simulate: false,
    metrics: METRICS,
    checks,
    notify,
  });
  const dashboards: Json[] = [
    dashboard(1, [CHANNELS.flaky]),
    dashboard(2, [CHANNELS.restart]),
    dashboard(3, [CHANNELS.pd, CHANNELS.pdCritical]),
    dashboard(4, [CHANNELS.slack, CHANNELS.discord, CHANNELS.teams]),
    dashboard(5, [CHANNELS.burstHook, CHANNELS.burstChat]),
    dashboard(6, [CHANNELS.remind]),
    dashboard(7, [CHANNELS.gone]),
    dashboard(8, [CHANNELS.live]),
    dashboard(9, [CHANNELS.testHook, CHANNELS.testPd, CHANNELS.testTeams, CHANNELS.testGone]),
    dashboard(10, [CHANNELS.feed]),
    // n10's twin without channels: what the same events cost without notifications.
    dashboard(11, []),
    // Simulated, its metric critical whatever the simulator says: the ticks a first viewer's
    // arrival fills in raise alerts that are history, not news.
    {
      id: "n12",
      name: "Notify 12",
      simulate: true,
      metrics: [{ name: "always_hot", label: "Always hot", unit: "", decimals: 0, min: 0, max: 100, critical: 0 }],
      notify: [CHANNELS.backfill],
    },
  ];
  return {
    NOTIFY,
    dashboards,
    secrets: { ...NOTIFY_SECRETS, NOTIFY_TEST_SLACK_URL: hook(CHANNELS.slack) },
    PUBLIC_URL,
  };
}
