// The DASHBOARDS the workerd tests run with: the ones wrangler.toml ships (read from it, so the
// tests see what users get), plus dashboards with their own metrics for the tests to own.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";

/** What a binding may hold (miniflare's Json). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const toml = parse(readFileSync(fileURLToPath(new URL("../../wrangler.toml", import.meta.url)), "utf8")) as {
  vars: { DASHBOARDS: Json[] };
};

export const SHIPPED_DASHBOARDS: Json[] = toml.vars.DASHBOARDS;

/** A metric of each kind: above with default hysteresis, below, one-threshold, bounded, none. */
const METRICS = [
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
  { name: "http.server.p95", label: "p95", unit: "ms", decimals: 1, min: 0, critical: 800 },
  { name: "cache_hits", label: "Cache hits", unit: "", decimals: 3 },
];

export const CUSTOM_TEST_DASHBOARDS = Array.from({ length: 12 }, (_, i) => ({
  id: `c${i + 1}`,
  name: `Custom ${i + 1}`,
  simulate: i === 0,
  metrics: METRICS,
}));

/** Dashboards with health checks against the check test server (test/setup/check-servers.global.ts). */
export function checkTestDashboards(server: string, refused: string) {
  const check = (name: string) => ({ name, url: `${server}/${name}`, timeoutMs: 300, intervalSeconds: 10 });
  return [
    {
      id: "h1",
      name: "Checks 1",
      simulate: false,
      checks: [check("api"), { name: "refused", url: refused, timeoutMs: 300, intervalSeconds: 10, downAfter: 1 }],
    },
    { id: "h2", name: "Checks 2", simulate: false, checks: [check("cron")] },
    // The storage-cost test's (test/worker/storage-cost.test.ts): always up, every hour.
    { id: "h3", name: "Checks 3", simulate: false, checks: [{ ...check("cost"), intervalSeconds: 3600 }] },
  ];
}

/**
 * Dashboards fed by OTLP and line protocol (test/worker/otlp-*.test.ts, influx-*.test.ts):
 * source mappings of every kind. o1–o12 define metrics; o13 shows the seed's five.
 */
export const INGEST_METRICS = [
  {
    name: "cpu",
    label: "CPU",
    unit: "%",
    decimals: 1,
    min: 0,
    max: 100,
    warning: 80,
    critical: 90,
    source: { name: "system.cpu.utilization", attributes: { "system.cpu.state": "user" }, scale: 100, aggregate: "avg" },
  },
  { name: "queue_depth", label: "Queue depth", unit: "jobs", decimals: 0, min: 0, warning: 100, critical: 500 },
  { name: "req_rate", label: "Requests", unit: "req/s", decimals: 1, min: 0, source: { name: "http.requests" } },
  { name: "net_bytes", label: "Network", unit: "B/s", decimals: 0, min: 0, source: { name: "system.network.io", aggregate: "sum" } },
  {
    name: "mem",
    label: "Memory",
    unit: "%",
    decimals: 2,
    min: 0,
    max: 100,
    source: { name: "mem_used_percent", attributes: { host: "a" } },
  },
  {
    name: "disk",
    label: "Disk",
    unit: "%",
    decimals: 1,
    min: 0,
    max: 100,
    warning: 80,
    critical: 90,
    source: { name: "disk_used_percent", attributes: { path: "/" } },
  },
];

export const INGEST_TEST_DASHBOARDS = [
  ...Array.from({ length: 12 }, (_, i) => ({ id: `o${i + 1}`, name: `Ingest ${i + 1}`, simulate: false, metrics: INGEST_METRICS })),
  { id: "o13", name: "Ingest seed", simulate: false },
];

/**
 * The history (rollups, series API) tests' own: r1–r4 with the seed's five, r5–r8 with the
 * metrics above (partial samples). Not simulated, so only the tests feed them.
 */
export const ROLLUP_TEST_DASHBOARDS = [
  ...Array.from({ length: 8 }, (_, i) => ({
    id: `r${i + 1}`,
    name: `Rollups ${i + 1}`,
    simulate: false,
    ...(i >= 4 ? { metrics: METRICS } : {}),
  })),
  // Split metrics (per-series columns): at most 4 CPU series, so a range can see more than the answer holds.
  {
    id: "r9",
    name: "Rollups split",
    simulate: false,
    metrics: [
      {
        name: "cpu",
        label: "CPU",
        unit: "%",
        decimals: 1,
        min: 0,
        max: 100,
        warning: 80,
        critical: 95,
        maxSeries: 4,
        source: { by: "host" },
      },
      { name: "free", label: "Free", decimals: 2, min: 0, warning: 20, critical: 10, direction: "below", source: { by: "mount" } },
      { name: "queue_depth", label: "Queue depth", decimals: 0, min: 0 },
    ],
  },
];

/**
 * The storage-cost tests' own (test/worker/storage-cost.test.ts): the seed's five, a dashboard of
 * 32 metrics (the most one may define), and two simulated ones, which cost nothing until watched
 * (their check-run dashboard is h3, with the check dashboards).
 */
export const COST_TEST_DASHBOARDS: Json[] = [
  { id: "w5", name: "Cost 5", simulate: false },
  {
    id: "w32",
    name: "Cost 32",
    simulate: false,
    metrics: Array.from({ length: 32 }, (_, i) => ({ name: `m${i}`, decimals: 2, min: 0, max: 1000, warning: 800, critical: 900 })),
  },
  {
    // 32 split metrics of 20 series each (maxSeries' default): 640 series values a sample.
    id: "w32s",
    name: "Cost 32 × 20",
    simulate: false,
    metrics: Array.from({ length: 32 }, (_, i) => ({
      name: `m${i}`,
      decimals: 2,
      min: 0,
      max: 1000,
      warning: 800,
      critical: 900,
      source: { by: "host" },
    })),
  },
  { id: "wsim1", name: "Simulated, unwatched" },
  { id: "wsim2", name: "Simulated, watched" },
  { id: "wsim3", name: "Simulated, first watched" },
];

/**
 * Dashboards fed by Prometheus remote write (test/worker/prometheus*.test.ts): node_exporter's
 * load, a recorded memory ratio, counters by name (`_total`), by `rate = true` and shown raw
 * with `rate = false`, a counter summed over CPUs, and a histogram bucket picked by name.
 */
export const PROMETHEUS_METRICS = [
  { name: "load1", label: "Load", decimals: 2, min: 0, source: { name: "node_load1" } },
  {
    name: "memory",
    label: "Memory",
    unit: "%",
    decimals: 1,
    min: 0,
    max: 100,
    source: { name: "instance:node_memory_used:ratio", scale: 100 },
  },
  {
    name: "req_rate",
    label: "Requests",
    unit: "req/s",
    decimals: 2,
    min: 0,
    source: { name: "http_requests_total", attributes: { job: "api" } },
  },
  {
    name: "req_count",
    label: "Requests so far",
    decimals: 0,
    min: 0,
    source: { name: "http_requests_total", attributes: { job: "api" }, rate: false },
  },
  { name: "jobs_rate", label: "Jobs", unit: "jobs/s", decimals: 2, min: 0, source: { name: "jobs_processed", rate: true } },
  {
    name: "cpu_user",
    label: "CPU user",
    unit: "cores",
    decimals: 2,
    min: 0,
    source: { name: "node_cpu_seconds_total", attributes: { mode: "user" }, aggregate: "sum" },
  },
  {
    name: "fast_requests",
    label: "Requests under 100 ms",
    unit: "req/s",
    decimals: 2,
    min: 0,
    source: { name: "http_request_duration_seconds_bucket", attributes: { le: "0.1" }, rate: true },
  },
];

export const PROMETHEUS_TEST_DASHBOARDS = Array.from({ length: 14 }, (_, i) => ({
  id: `p${i + 1}`,
  name: `Prometheus ${i + 1}`,
  simulate: false,
  metrics: PROMETHEUS_METRICS,
}));

/**
 * Split metrics (`source.by`; test/worker/split-*.test.ts, the series API's per-series rollups):
 * CPU per host ("above": the aggregate is the max), free disk per mount ("below": the min, 5
 * series at most, stale after 60 s), requests per route summed, and a plain metric beside them.
 */
export const SPLIT_METRICS = [
  {
    name: "cpu",
    label: "CPU",
    unit: "%",
    decimals: 1,
    min: 0,
    max: 100,
    warning: 80,
    critical: 95,
    source: { name: "system.cpu.utilization", attributes: { "system.cpu.state": "user" }, scale: 100, by: "host.name" },
  },
  {
    name: "free_disk",
    label: "Free disk",
    unit: "GB",
    decimals: 1,
    min: 0,
    warning: 20,
    critical: 10,
    direction: "below",
    maxSeries: 5,
    staleSeconds: 60,
    source: { name: "disk_free", by: "mount" },
  },
  {
    name: "req_rate",
    label: "Requests",
    unit: "req/s",
    decimals: 1,
    min: 0,
    source: { name: "http.requests", by: "route", aggregate: "sum" },
  },
  { name: "queue_depth", label: "Queue depth", unit: "jobs", decimals: 0, min: 0, warning: 100, critical: 500 },
];

/** The browser test's (test/browser/split.test.ts): CPU per host, nothing simulated. */
export const SPLIT_BROWSER_DASHBOARD = { id: "fleet", name: "Fleet", simulate: false, metrics: SPLIT_METRICS };

export const SPLIT_TEST_DASHBOARDS = Array.from({ length: 16 }, (_, i) => ({
  id: `s${i + 1}`,
  name: `Split ${i + 1}`,
  simulate: false,
  metrics: SPLIT_METRICS,
}));

/** The anonymous-bounds tests' own (test/worker/anonymous-bounds.test.ts, test/worker-relay/bounds.test.ts). */
export const BOUNDS_TEST_DASHBOARDS = Array.from({ length: 6 }, (_, i) => ({ id: `b${i + 1}`, name: `Bounds ${i + 1}`, simulate: false }));

/**
 * Teams kept apart (test/worker-access/, test/browser/teams-access.test.ts): two teams with their
 * own tokens ("$NAME": TEAM_SECRETS in teams.ts), a public dashboard, and two narrowed to Access identities.
 */
export const TEAM_DASHBOARDS = [
  {
    id: "team-a",
    name: "Team A",
    simulate: false,
    metrics: INGEST_METRICS,
    checks: [{ name: "db", url: "https://db.team-a.internal/health" }],
    ingestToken: "$TEAM_A_INGEST_TOKEN",
    viewerToken: "$TEAM_A_VIEWER_TOKEN",
  },
  {
    id: "team-b",
    name: "Team B",
    simulate: false,
    metrics: INGEST_METRICS,
    checks: [{ name: "queue", url: "https://queue.team-b.internal/health" }],
    ingestToken: "$TEAM_B_INGEST_TOKEN",
    viewerToken: "$TEAM_B_VIEWER_TOKEN",
  },
  { id: "open-board", name: "Open board", simulate: false, public: true },
  { id: "alice-only", name: "Alice only", simulate: false, viewers: ["Alice@acme.com"] },
  { id: "payments", name: "Payments", simulate: false, viewers: ["*@payments.acme.com"] },
];
