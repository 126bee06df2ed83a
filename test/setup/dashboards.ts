// The DASHBOARDS the workerd tests run with: the ones wrangler.toml ships (read from it, so the
// tests see what users get), plus dashboards with their own metrics for the tests to own.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";

const toml = parse(readFileSync(fileURLToPath(new URL("../../wrangler.toml", import.meta.url)), "utf8")) as { vars: { DASHBOARDS: unknown[] } };

export const SHIPPED_DASHBOARDS = toml.vars.DASHBOARDS;

/** A metric of each kind: above with default hysteresis, below, one-threshold, bounded, none. */
const METRICS = [
  { name: "queue_depth", label: "Queue depth", unit: "jobs", decimals: 0, min: 0, warning: 100, critical: 500 },
  { name: "success_ratio", label: "Success", unit: "%", decimals: 2, min: 0, max: 100, warning: 98, critical: 95, direction: "below", hysteresis: 0.5 },
  { name: "http.server.p95", label: "p95", unit: "ms", decimals: 1, min: 0, critical: 800 },
  { name: "cache_hits", label: "Cache hits", unit: "", decimals: 3 },
];

export const CUSTOM_TEST_DASHBOARDS = Array.from({ length: 12 }, (_, i) => ({
  id: `c${i + 1}`,
  name: `Custom ${i + 1}`,
  simulate: i === 0,
  metrics: METRICS,
}));

/**
 * The history (rollups, series API) tests' own: r1–r4 with the seed's five, r5–r8 with the
 * metrics above (partial samples). Not simulated, so only the tests feed them.
 */
export const ROLLUP_TEST_DASHBOARDS = Array.from({ length: 8 }, (_, i) => ({
  id: `r${i + 1}`,
  name: `Rollups ${i + 1}`,
  simulate: false,
  ...(i >= 4 ? { metrics: METRICS } : {}),
}));
