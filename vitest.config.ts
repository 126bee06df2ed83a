import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

import {
  BOUNDS_TEST_DASHBOARDS,
  checkTestDashboards,
  COST_TEST_DASHBOARDS,
  CUSTOM_TEST_DASHBOARDS,
  INGEST_TEST_DASHBOARDS,
  PROMETHEUS_TEST_DASHBOARDS,
  ROLLUP_TEST_DASHBOARDS,
  SHIPPED_DASHBOARDS,
  SPLIT_TEST_DASHBOARDS,
  TEAM_DASHBOARDS,
} from "./test/setup/dashboards.ts";
import { notifyBindings } from "./test/setup/notify.ts";
import { TEAM_SECRETS, TEST_ACCESS_AUD } from "./test/setup/teams.ts";

// Short intervals so heartbeat and publisher tests run in seconds.
const testBindings = {
  HEARTBEAT_SECONDS: "1",
  PUBLISH_WINDOW_SECONDS: "3",
  INGEST_TOKEN: "test-ingest-token-0123456789",
  // The shipped dashboards plus one per test, so tests never share a stream.
  DASHBOARDS: [
    ...SHIPPED_DASHBOARDS,
    ...CUSTOM_TEST_DASHBOARDS,
    ...INGEST_TEST_DASHBOARDS,
    ...PROMETHEUS_TEST_DASHBOARDS,
    ...ROLLUP_TEST_DASHBOARDS,
    ...SPLIT_TEST_DASHBOARDS,
    ...COST_TEST_DASHBOARDS,
    ...BOUNDS_TEST_DASHBOARDS,
    // Not simulated: every cron invocation in a test (publisher, checks) would publish to all 40.
    ...Array.from({ length: 42 }, (_, i) => ({ id: `t${i + 1}`, name: `Test ${i + 1}`, simulate: false })),
  ],
};
const workerTests = "test/worker/**/*.test.ts";
const UPSTASH_SUITES = [
  "stream-basics",
  "wire-format",
  "fanout",
  "resume",
  "api",
  "retention",
  "slow-consumer",
  "logs",
  "rollups",
  "ingest",
  "otlp-ingest",
  "split-ingest",
];
/** The bindings plus dashboards whose health checks hit this project's check test server. */
const withChecks = (inject: (key: "checkServerUrl" | "checkRefusedUrl") => string) => ({
  ...testBindings,
  DASHBOARDS: [...testBindings.DASHBOARDS, ...checkTestDashboards(inject("checkServerUrl"), inject("checkRefusedUrl"))],
});

/** …plus the notification channels (NOTIFY, its secrets, PUBLIC_URL) and their dashboards n1–n11, against local receivers. */
const withNotify = (inject: (key: "checkServerUrl" | "checkRefusedUrl" | "notifyReceiverUrl" | "notifySwitchableUrl") => string) => {
  const base = withChecks(inject);
  const notify = notifyBindings(inject("notifyReceiverUrl"), inject("notifySwitchableUrl"), inject("checkServerUrl"));
  return {
    ...base,
    ...notify.secrets,
    NOTIFY: notify.NOTIFY,
    PUBLIC_URL: notify.PUBLIC_URL,
    DASHBOARDS: [...base.DASHBOARDS, ...notify.dashboards],
  };
};

// Worker and Durable Object code runs inside workerd, once with the default event log (Durable
// Object SQLite), once with the Upstash log against the real redis-server at 127.0.0.1:6379
// (through the local Upstash REST bridge, started by the globalSetup) and once with viewers
// on relay objects;
// tooling that is itself Node (the Upstash bridge, the deploy dry-run, browser tests, the
// wrangler dev end-to-end tests) runs in Node.
export default defineConfig({
  test: {
    // Two test files at a time even on a 2-core machine (vitest's default there is one): most of
    // the Node and browser files wait on wrangler, Vite and Chromium starting, not on a core.
    maxWorkers: 2,
    projects: [
      {
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: withNotify(inject) },
          })),
        ],
        test: {
          name: "workers",
          include: [workerTests],
          globalSetup: ["test/setup/check-servers.global.ts", "test/setup/notify-receivers.global.ts"],
          testTimeout: 20_000,
        },
      },
      {
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ...withChecks(inject),
                UPSTASH_REDIS_REST_URL: inject("upstashUrl"),
                UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
                UPSTASH_KEY_PREFIX: inject("upstashKeyPrefix"),
              },
            },
          })),
        ],
        test: {
          name: "workers-upstash",
          // The suites whose outcome depends on the event log: what viewers get, resume, retention,
          // logs, the rollups rebuilt from the log, ingest read back from the stream. Parsing,
          // mapping, alerts, checks and auth run the same code whichever log is configured.
          include: [...UPSTASH_SUITES.map((t) => `test/worker/${t}.test.ts`), "test/worker-upstash/**/*.test.ts"],
          globalSetup: ["test/setup/upstash.global.ts", "test/setup/check-servers.global.ts"],
          setupFiles: ["test/setup/upstash-file-prefix.ts"],
          testTimeout: 20_000,
        },
      },
      {
        // The same viewer-facing suites with every viewer placed on one of 3 relay objects
        // (RELAYS_PER_DASHBOARD), plus the relay tests themselves. 3 × 16 streams hold the
        // 40 of the fan-out test; the relay cap test fills them.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: { ...testBindings, RELAYS_PER_DASHBOARD: "3", STREAMS_PER_RELAY: "16" } },
          }),
        ],
        test: {
          name: "workers-relay",
          include: [
            ...["stream-basics", "wire-format", "fanout", "resume", "api", "retention", "slow-consumer"].map(
              (t) => `test/worker/${t}.test.ts`,
            ),
            "test/worker-relay/**/*.test.ts",
          ],
          testTimeout: 20_000,
        },
      },
      {
        // Teams kept apart: per-dashboard tokens, tickets and Cloudflare Access (against a local
        // key server), with viewer auth on, which the suites above run without.
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ...testBindings,
                DASHBOARDS: [...testBindings.DASHBOARDS, ...TEAM_DASHBOARDS],
                ...TEAM_SECRETS,
                VIEWER_SECRET: "access-test-viewer-secret-0123456789",
                VIEWER_TOKEN: "access-test-viewer-token-0123456789",
                ACCESS_TEAM_DOMAIN: inject("accessTeamDomain"),
                ACCESS_AUD: TEST_ACCESS_AUD,
              },
            },
          })),
        ],
        test: {
          name: "workers-access",
          include: ["test/worker-access/**/*.test.ts"],
          globalSetup: ["test/setup/access-keys.global.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: { name: "node", include: ["test/node/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000 },
      },
      {
        // The Vue client's stream composable against a real local SSE server (web/).
        test: { name: "web", include: ["test/web/**/*.test.ts"], environment: "node", testTimeout: 20_000 },
      },
      {
        // Headless Chromium (Debian's /usr/bin/chromium) on the built site behind
        // `wrangler pages dev` + `wrangler dev`, and on the Vite dev server.
        test: { name: "browser", include: ["test/browser/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 120_000 },
      },
    ],
  },
});
