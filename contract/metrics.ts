// The metric model: what a dashboard measures, how each value is shown and when it alerts.
// Dashboards define their own metrics in DASHBOARDS (wrangler.toml); one without `metrics`
// gets the seed's five (`DEFAULT_METRICS`) with exactly the wire shapes they always had.
// The Worker validates definitions at startup; the objects and the Vue app read the result.

import type { CheckDef } from "./logs.ts";

/** `name` of a metric: dots allowed, so OpenTelemetry names fit. */
export const METRIC_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_.]{0,63}$/;
export const MAX_METRICS_PER_DASHBOARD = 32;
/** `timestamp` and `series` sit beside the values in a `metric-update`, so no metric may take those names. */
export const RESERVED_METRIC_NAMES: readonly string[] = ["timestamp", "series"];
/** A split metric's series (values of its `source.by` attribute): how many by default, at most, and how long a silent one stays. */
export const DEFAULT_MAX_SERIES = 20;
export const MAX_SERIES_LIMIT = 100;
export const DEFAULT_STALE_SECONDS = 120;
/** At most the live window (events.ts), so the object can rebuild who is live from the events it keeps in memory. */
export const MAX_STALE_SECONDS = 900;
/** A series name (the `by` attribute's value) is text of 1–128 characters. */
export const MAX_SERIES_NAME_LENGTH = 128;

export type Direction = "above" | "below";

/** A metric as a dashboard defines it, after validation and defaults. */
export interface MetricDef {
  name: string;
  label: string;
  unit: string;
  /** Decimal places on the wire (values are rounded to them). */
  decimals: number;
  /** Valid values; ingest refuses a value outside them. */
  min?: number;
  max?: number;
  /** Alert thresholds; `direction` says which side is bad. */
  warning?: number;
  critical?: number;
  direction: Direction;
  /** Recovery needs the value this far back past the threshold (absent when it never alerts). */
  hysteresis?: number;
  /** Which ingested series feeds it (OTLP, line protocol, Prometheus); without it, the series of the same name. */
  source?: MetricSource;
  /** Only with `source.by` (a split metric): how many series it holds at once (default 20, at most 100)… */
  maxSeries?: number;
  /** …and after how many seconds without a point a series leaves the live view (default 120, at most 900). */
  staleSeconds?: number;
}

export interface MetricSource {
  /** The series' name (OTLP metric name, `<measurement>_<field>` for line protocol, `__name__` for Prometheus). */
  name?: string;
  /** Only points whose attributes (OTLP attributes, tags, Prometheus labels) have these values. */
  attributes?: Record<string, string | number | boolean>;
  /** Multiplies every value (e.g. 100 to show a 0–1 ratio as %). */
  scale?: number;
  /**
   * How points of several matching series (e.g. one per CPU or per network interface) at one
   * time become one value. Without it, a request in which more than one series matches the
   * metric has those points rejected (the answer names the series). With `by`: how the metric's
   * series make its own value (default `max` for direction "above", `min` for "below": the
   * worst), and how several series with the same `by` value combine.
   */
  aggregate?: SourceAggregate;
  /**
   * Splits the metric by one attribute (OTLP attribute, line-protocol tag, Prometheus label):
   * each distinct value is a series of its own, on the stream (`series`), in alerts and in history.
   */
  by?: string;
  /**
   * Whether the series is a cumulative counter, shown as its per-second rate. Absent: the
   * protocol says (OTLP monotonic sums; Prometheus series whose name ends in `_total`; line
   * protocol never). `true` makes any series a counter (e.g. a Prometheus `_count`, a Telegraf
   * byte count); `false` shows a counter's running total as it is.
   */
  rate?: boolean;
}

export const SOURCE_AGGREGATES = ["sum", "avg", "min", "max"] as const;
export type SourceAggregate = (typeof SOURCE_AGGREGATES)[number];

/** A dashboard as `GET /api/dashboards/:id` returns it. */
export interface DashboardDef {
  id: string;
  name: string;
  /** Whether the cron publisher feeds it simulated values. */
  simulate: boolean;
  /** True when `metrics` was not configured: the seed's five, with today's wire shapes and ingest rules. */
  seed: boolean;
  metrics: MetricDef[];
  /**
   * Health checks the cron Worker runs for it (contract/logs.ts). `GET /api/dashboards/:id` leaves
   * out each check's `url` for a client that may not watch the dashboard.
   */
  checks: CheckDef[];
}

/** The seed's five: what a dashboard without `metrics` shows. */
export const DEFAULT_METRICS: readonly MetricDef[] = [
  { name: "cpu", label: "CPU", unit: "%", decimals: 1, min: 0, max: 100, warning: 80, critical: 90, direction: "above", hysteresis: 5 },
  {
    name: "memory",
    label: "Memory",
    unit: "%",
    decimals: 1,
    min: 0,
    max: 100,
    warning: 85,
    critical: 95,
    direction: "above",
    hysteresis: 3,
  },
  { name: "rps", label: "Requests/s", unit: "req/s", decimals: 0, min: 0, direction: "above" },
  { name: "activeConnections", label: "Active connections", unit: "", decimals: 0, min: 0, direction: "above" },
  {
    name: "errorRate",
    label: "Error rate",
    unit: "%",
    decimals: 2,
    min: 0,
    max: 100,
    warning: 2,
    critical: 5,
    direction: "above",
    hysteresis: 0.5,
  },
];

/**
 * Default hysteresis: a tenth of the warning–critical distance, or 2 % of the threshold's
 * size when only one threshold is set. Enough that a value hovering at a threshold raises one
 * alert, not one per sample, and small enough that a real recovery is reported promptly.
 */
export function defaultHysteresis(warning: number | undefined, critical: number | undefined): number {
  if (warning !== undefined && critical !== undefined) return Math.abs(critical - warning) / 10;
  const only = warning ?? critical ?? 0;
  return Math.abs(only) * 0.02;
}

export class DefinitionError extends Error {
  override name = "DefinitionError";
}

const METRIC_KEYS = new Set([
  "name",
  "label",
  "unit",
  "decimals",
  "min",
  "max",
  "warning",
  "critical",
  "direction",
  "hysteresis",
  "source",
  "maxSeries",
  "staleSeconds",
]);

/**
 * Checks one dashboard's `metrics` list and fills in the defaults; throws a DefinitionError
 * naming the dashboard, the metric and the problem. `source` says which ingested series feeds
 * the metric (read by the OTLP and line-protocol adapters).
 */
export function defineMetrics(dashboard: string, raw: unknown): MetricDef[] {
  const fail = (message: string): never => {
    throw new DefinitionError(`DASHBOARDS: dashboard "${dashboard}": ${message}`);
  };
  if (!Array.isArray(raw) || raw.length === 0) fail("`metrics` must be a non-empty list of metric definitions");
  const list = raw as unknown[];
  if (list.length > MAX_METRICS_PER_DASHBOARD) fail(`${list.length} metrics; at most ${MAX_METRICS_PER_DASHBOARD} per dashboard`);
  const seen = new Set<string>();
  return list.map((item, i) => {
    if (typeof item !== "object" || item === null || Array.isArray(item))
      return fail(`metrics[${i}] must be a table like { name = "queue_depth" }`);
    const m = item as Record<string, unknown>;
    const name = m.name;
    if (typeof name !== "string" || !METRIC_NAME_RE.test(name)) {
      return fail(`metrics[${i}]: name ${JSON.stringify(name)} must match ${METRIC_NAME_RE.source}`);
    }
    const at = (problem: string): never => fail(`metric "${name}": ${problem}`);
    if (RESERVED_METRIC_NAMES.includes(name)) at(`"${name}" is reserved (the sample's time travels under it)`);
    if (seen.has(name)) at("is defined twice");
    seen.add(name);
    for (const key of Object.keys(m)) if (!METRIC_KEYS.has(key)) at(`unknown key "${key}" (known: ${[...METRIC_KEYS].join(", ")})`);

    const text = (key: string, fallback: string): string => {
      const v = m[key];
      if (v === undefined) return fallback;
      if (typeof v !== "string" || v.length > 64) return at(`${key} must be text of at most 64 characters`);
      return v;
    };
    const num = (key: string): number | undefined => {
      const v = m[key];
      if (v === undefined) return undefined;
      if (typeof v !== "number" || !Number.isFinite(v)) return at(`${key} must be a finite number, got ${JSON.stringify(v)}`);
      return v;
    };
    const decimals = num("decimals") ?? 2;
    if (!Number.isInteger(decimals) || decimals < 0 || decimals > 6) at(`decimals must be a whole number from 0 to 6, got ${decimals}`);
    const direction = m.direction ?? "above";
    if (direction !== "above" && direction !== "below") at(`direction must be "above" or "below", got ${JSON.stringify(direction)}`);
    const [min, max, warning, critical] = [num("min"), num("max"), num("warning"), num("critical")];
    if (min !== undefined && max !== undefined && min > max) at(`min ${min} is greater than max ${max}`);
    if (warning !== undefined && critical !== undefined) {
      const ordered = direction === "above" ? warning < critical : warning > critical;
      if (!ordered) {
        at(`warning ${warning} must be ${direction === "above" ? "below" : "above"} critical ${critical} when direction is "${direction}"`);
      }
    }
    for (const [key, v] of [
      ["warning", warning],
      ["critical", critical],
    ] as const) {
      if (v === undefined) continue;
      if ((min !== undefined && v < min) || (max !== undefined && v > max)) at(`${key} ${v} is outside min–max`);
    }
    let hysteresis = num("hysteresis");
    if (hysteresis !== undefined && hysteresis < 0) at(`hysteresis must not be negative, got ${hysteresis}`);
    const alerts = warning !== undefined || critical !== undefined;
    if (hysteresis !== undefined && !alerts) at("hysteresis needs a warning or critical threshold");
    if (alerts) hysteresis ??= round(defaultHysteresis(warning, critical), decimals + 2);
    const source = m.source === undefined ? undefined : defineSource(m.source, at);
    const def: MetricDef = { name, label: text("label", name), unit: text("unit", ""), decimals, direction: direction as Direction };
    if (min !== undefined) def.min = min;
    if (max !== undefined) def.max = max;
    if (warning !== undefined) def.warning = warning;
    if (critical !== undefined) def.critical = critical;
    if (hysteresis !== undefined) def.hysteresis = hysteresis;
    if (source) def.source = source;
    const [maxSeries, staleSeconds] = [num("maxSeries"), num("staleSeconds")];
    if (source?.by !== undefined) {
      // A sum of series can leave min–max even when every series is inside: it would be refused sample after sample.
      if (source.aggregate === "sum" && (max !== undefined || (min !== undefined && min < 0)))
        at(
          `source.by with aggregate "sum" cannot keep the sum inside ${max !== undefined ? `max ${max}` : `min ${min}`}; drop it or pick avg, min or max`,
        );
      def.maxSeries = maxSeries ?? DEFAULT_MAX_SERIES;
      if (!Number.isInteger(def.maxSeries) || def.maxSeries < 1 || def.maxSeries > MAX_SERIES_LIMIT)
        at(`maxSeries must be a whole number from 1 to ${MAX_SERIES_LIMIT}, got ${def.maxSeries}`);
      def.staleSeconds = staleSeconds ?? DEFAULT_STALE_SECONDS;
      if (!Number.isInteger(def.staleSeconds) || def.staleSeconds < 1 || def.staleSeconds > MAX_STALE_SECONDS)
        at(`staleSeconds must be a whole number from 1 to ${MAX_STALE_SECONDS}, got ${def.staleSeconds}`);
    } else {
      if (maxSeries !== undefined) at("maxSeries needs source.by (it caps the series a split metric holds)");
      if (staleSeconds !== undefined) at("staleSeconds needs source.by (it says when a series of a split metric is gone)");
    }
    return def;
  });
}

const SOURCE_KEYS = new Set(["name", "attributes", "scale", "aggregate", "rate", "by"]);

function defineSource(raw: unknown, at: (problem: string) => never): MetricSource {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return at('source must be a table like { name = "system.cpu.utilization" }');
  const s = raw as Record<string, unknown>;
  for (const key of Object.keys(s)) if (!SOURCE_KEYS.has(key)) at(`source: unknown key "${key}" (known: ${[...SOURCE_KEYS].join(", ")})`);
  const source: MetricSource = {};
  if (s.name !== undefined) {
    if (typeof s.name !== "string" || s.name.length === 0 || s.name.length > 255) at("source.name must be text of 1–255 characters");
    source.name = s.name as string;
  }
  if (s.attributes !== undefined) {
    const attrs = s.attributes;
    if (typeof attrs !== "object" || attrs === null || Array.isArray(attrs)) return at("source.attributes must be a table of values");
    for (const [k, v] of Object.entries(attrs)) {
      if (!["string", "number", "boolean"].includes(typeof v)) at(`source.attributes.${k} must be text, a number or a boolean`);
    }
    source.attributes = { ...(attrs as Record<string, string | number | boolean>) };
  }
  if (s.scale !== undefined) {
    if (typeof s.scale !== "number" || !Number.isFinite(s.scale) || s.scale === 0) at("source.scale must be a non-zero finite number");
    source.scale = s.scale as number;
  }
  if (s.aggregate !== undefined) {
    if (!(SOURCE_AGGREGATES as readonly unknown[]).includes(s.aggregate))
      at(`source.aggregate must be one of ${SOURCE_AGGREGATES.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(s.aggregate)}`);
    source.aggregate = s.aggregate as SourceAggregate;
  }
  if (s.rate !== undefined) {
    if (typeof s.rate !== "boolean") at(`source.rate must be true or false, got ${JSON.stringify(s.rate)}`);
    source.rate = s.rate as boolean;
  }
  if (s.by !== undefined) {
    if (typeof s.by !== "string" || s.by.length === 0 || s.by.length > 255)
      at("source.by must be the name of one attribute (1–255 characters)");
    // Pinned to one value, the attribute could only ever give one series.
    if (source.attributes && Object.hasOwn(source.attributes, s.by as string))
      at(`source.by "${s.by as string}" is also pinned in source.attributes: a split needs the attribute free`);
    source.by = s.by as string;
  }
  return source;
}

/** A split metric's own value when `source.aggregate` does not say: the worst of its series. */
export function splitAggregate(def: MetricDef): SourceAggregate {
  return def.source?.aggregate ?? (def.direction === "below" ? "min" : "max");
}

/**
 * Where a split metric's series is kept beside plain metrics (alert levels, history columns):
 * the metric's name, "|", the series. Metric names cannot hold "|", so no key is ever taken twice.
 */
export const splitKey = (metric: string, series: string): string => `${metric}|${series}`;

/** How values of several series at one time become one (`source.aggregate`). */
export const AGGREGATE: Readonly<Record<SourceAggregate, (values: readonly number[]) => number>> = {
  sum: (v) => v.reduce((a, b) => a + b, 0),
  avg: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  min: (v) => Math.min(...v),
  max: (v) => Math.max(...v),
};

/** Whether the metric is split into series (`source.by`). */
export const isSplit = (def: MetricDef): boolean => def.source?.by !== undefined;

/** `value` to `decimals` places; a value too large to scale (beyond ~1e300) has no fraction to round and is returned as it is. */
export function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  const scaled = value * f;
  return Number.isFinite(scaled) ? Math.round(scaled) / f : value;
}

/** `value` with its unit, as alerts and cards write it: "91.5%", "420 ms", "12". */
export function withUnit(value: number | string, unit: string): string {
  if (!unit) return String(value);
  return unit === "%" ? `${value}%` : `${value} ${unit}`;
}
