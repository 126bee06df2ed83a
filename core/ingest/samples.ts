// The ingest rules: what a real system may push into a dashboard, checked against that
// dashboard's metric definitions. JSON ingest uses them directly; the OTLP and line-protocol
// adapters turn their points into the same samples first, so every value goes through here.
import {
  isSplit,
  MAX_SERIES_NAME_LENGTH,
  round,
  type DashboardDef,
  type MetricDef,
  type MetricUpdate,
  type SeriesValues,
} from "../../contract/index.ts";

export const MAX_SAMPLES_PER_REQUEST = 100;
export const MAX_INGEST_BYTES = 64 * 1024;
/** A sample may be stamped at most this far ahead of the server's clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** ISO 8601 with a time zone (Z or ±hh:mm), as the JSON API has always required. */
export const ISO_DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export type Checked<T> = { ok: T } | { error: string };

/**
 * The sample as the wire carries it: the given metrics in definition order, each rounded to its
 * `decimals`, then the timestamp, then the split metrics' series (only when there are some).
 * Assumes every value was checked (see `checkValue`).
 */
export function toUpdate(
  dashboard: DashboardDef,
  values: Readonly<Record<string, number>>,
  timeMs: number,
  series?: Readonly<Record<string, Readonly<Record<string, number>>>>,
): MetricUpdate {
  const update: Record<string, number | string | SeriesValues> = {};
  for (const def of dashboard.metrics) {
    const v = values[def.name];
    if (v !== undefined) update[def.name] = round(v, def.decimals) + 0; // + 0: no "-0" on the wire
  }
  update.timestamp = new Date(timeMs).toISOString();
  if (series) {
    const out: Record<string, Record<string, number>> = {};
    let any = false;
    for (const def of dashboard.metrics) {
      const s = series[def.name];
      if (!s) continue;
      const rounded: Record<string, number> = {};
      for (const name in s) rounded[name] = round(s[name]!, def.decimals) + 0;
      out[def.name] = rounded;
      any = true;
    }
    if (any) update.series = out;
  }
  return update as MetricUpdate;
}

/** Null when `name` may name a series of a split metric, else what is wrong with it. */
export function checkSeriesName(name: string): string | null {
  if (name.length === 0) return "a series name must not be empty";
  if (name.length > MAX_SERIES_NAME_LENGTH)
    return `series name "${name.slice(0, 40)}…" is longer than ${MAX_SERIES_NAME_LENGTH} characters`;
  return null;
}

/** Null when `value` may be published for `def`, else what is wrong with it. */
export function checkValue(def: MetricDef, value: unknown, seed: boolean): string | null {
  if (typeof value !== "number") return `must be a number, got ${value === null ? "null" : typeof value}`;
  if (!Number.isFinite(value)) return "must be a finite number";
  if (def.min !== undefined && value < def.min) return `${value} is below the minimum ${def.min}`;
  if (def.max !== undefined && value > def.max) return `${value} is above the maximum ${def.max}`;
  // The seed's counts were always whole numbers on input; defined metrics are rounded instead.
  if (seed && def.decimals === 0 && !Number.isSafeInteger(value)) return `${value} must be a whole number`;
  return null;
}

/** Null when `timeMs` may be published now, else why not. */
export function checkTime(timeMs: number, retentionSeconds: number, now: number): string | null {
  if (timeMs > now + MAX_CLOCK_SKEW_MS) return "must not be more than 5 minutes in the future";
  if (timeMs < now - retentionSeconds * 1000) return "must be within the retention period";
  return null;
}

/** An optional ISO 8601 `timestamp` field: its epoch ms (now when absent), or what is wrong with it. */
export function parseTimestamp(t: unknown, retentionSeconds: number, now: number): Checked<number> {
  if (t === undefined) return { ok: now };
  if (typeof t !== "string" || !ISO_DATETIME_RE.test(t) || Number.isNaN(Date.parse(t))) {
    return { error: "timestamp: must be an ISO 8601 date-time with a time zone, like 2026-11-30T12:00:00Z" };
  }
  const timeMs = Date.parse(t);
  const problem = checkTime(timeMs, retentionSeconds, now);
  return problem ? { error: `timestamp: ${problem}` } : { ok: timeMs };
}

/**
 * One JSON sample: `{ <metric>: number, …, timestamp? }`; a split metric takes its series as
 * `{ "<series>": number, … }`. Its own value (the aggregate) is left to the dashboard's object,
 * which knows the series' latest values: the sample carries only `series` for it.
 */
export function parseSample(dashboard: DashboardDef, item: unknown, retentionSeconds: number, now: number): Checked<MetricUpdate> {
  if (typeof item !== "object" || item === null || Array.isArray(item)) {
    return { error: 'sample: must be an object like {"<metric>": 1.5, "timestamp": "…"}' };
  }
  const fields = item as Record<string, unknown>;
  const byName = new Map(dashboard.metrics.map((d) => [d.name, d]));
  for (const key of Object.keys(fields)) {
    if (key !== "timestamp" && !byName.has(key))
      return { error: `${key}: not a metric of this dashboard (known: ${[...byName.keys()].join(", ")})` };
  }
  const values: Record<string, number> = {};
  const series: Record<string, Record<string, number>> = {};
  let carried = 0;
  for (const def of dashboard.metrics) {
    const value = fields[def.name];
    if (value === undefined) {
      // The seed's five always came complete; defined metrics may report at their own rates.
      if (dashboard.seed) return { error: `${def.name}: is required` };
      continue;
    }
    if (isSplit(def)) {
      const parsed = parseSeries(def, value);
      if (typeof parsed === "string") return { error: `${def.name}: ${parsed}` };
      series[def.name] = parsed;
      carried++;
      continue;
    }
    const problem = checkValue(def, value, dashboard.seed);
    if (problem) return { error: `${def.name}: ${problem}` };
    values[def.name] = value as number;
    carried++;
  }
  if (carried === 0) return { error: `sample: carries none of the metrics (${[...byName.keys()].join(", ")})` };
  const time = parseTimestamp(fields.timestamp, retentionSeconds, now);
  if ("error" in time) return time;
  return { ok: toUpdate(dashboard, values, time.ok, Object.keys(series).length > 0 ? series : undefined) };
}

/** A split metric's JSON value: `{ "<series>": number, … }`, each checked like a plain value. */
function parseSeries(def: MetricDef, value: unknown): Record<string, number> | string {
  const shape = `split by ${def.source!.by}: send {"<${def.source!.by}>": <number>, …}`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return shape;
  const out: Record<string, number> = {};
  const names = Object.keys(value);
  if (names.length === 0) return `${shape}, with at least one series`;
  if (names.length > def.maxSeries!) return `${names.length} series in one sample; this metric holds at most ${def.maxSeries} (maxSeries)`;
  for (const name of names) {
    const problem = checkSeriesName(name) ?? checkValue(def, (value as Record<string, unknown>)[name], false);
    if (problem) return `series "${name.slice(0, 40)}": ${problem}`;
    out[name] = (value as Record<string, number>)[name]!;
  }
  return out;
}

/** Values a sample carries (a split metric's series each count): what the point rate counts. */
export function countValues(sample: MetricUpdate): number {
  let n = 0;
  for (const key in sample) if (typeof sample[key] === "number") n++;
  for (const metric in sample.series ?? {}) n += Object.keys(sample.series![metric]!).length;
  return n;
}

/** Validates one sample or an array of them; the error names the offending field. */
export function parseIngestBody(
  dashboard: DashboardDef,
  body: unknown,
  retentionSeconds: number,
  now: number,
): { samples: MetricUpdate[] } | { error: string } {
  const list = Array.isArray(body) ? body : [body];
  if (list.length === 0) return { error: "the body is an empty array; send one sample or up to 100" };
  if (list.length > MAX_SAMPLES_PER_REQUEST) {
    return { error: `${list.length} samples in one request; send at most ${MAX_SAMPLES_PER_REQUEST}` };
  }
  const samples: MetricUpdate[] = [];
  for (const [i, item] of list.entries()) {
    const result = parseSample(dashboard, item, retentionSeconds, now);
    if ("error" in result) return { error: Array.isArray(body) ? `[${i}].${result.error}` : result.error };
    samples.push(result.ok);
  }
  return { samples };
}
