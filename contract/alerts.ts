// Threshold rules shared by every published sample, simulated or real, for every metric a
// dashboard defines. Levels escalate as soon as a value reaches a threshold (from the side its
// `direction` names) and fall back only once it is `hysteresis` back past it, so a value
// hovering at a threshold raises one alert, not one per sample. A sample that carries only some
// metrics is judged on those alone: the others keep their level.
// A split metric (`source.by`) is judged per series, each with its own level and hysteresis;
// its own value (the aggregate) raises nothing. A series that went stale (no point for its
// `staleSeconds`) has its level cleared with a `resolved` alert that says there is no data.
import type { Alert, MetricUpdate } from "./events.ts";
import { isSplit, splitKey, withUnit, type DashboardDef, type MetricDef } from "./metrics.ts";

export type Level = "warning" | "critical";
/**
 * Each alerting metric's current level, by name, and each alerting series' by `splitKey`
 * (absent = normal). Persisted by the object; at most the live series of each split metric.
 */
export type AlertState = Record<string, Level>;

/** A series of a split metric that left the live view with a sample, and its last value. */
export interface GoneSeries {
  metric: string;
  series: string;
  value: number;
}

export function evaluateAlerts(
  sample: MetricUpdate,
  dashboard: Pick<DashboardDef, "metrics" | "seed">,
  state: AlertState,
  gone: readonly GoneSeries[] = [],
): { alerts: Alert[]; state: AlertState } {
  const alerts: Alert[] = [];
  let next = state;
  const defs = gone.length > 0 ? new Map(dashboard.metrics.map((d) => [d.name, d])) : null;
  for (const g of gone) {
    const key = splitKey(g.metric, g.series);
    const def = defs!.get(g.metric);
    if (!def || state[key] === undefined) continue;
    if (next === state) next = { ...state };
    delete next[key];
    const threshold = (def.warning ?? def.critical)!;
    const text = `${def.label} on ${g.series}: no data for ${def.staleSeconds} s, alert cleared (last ${shown(def, g.value)})`;
    alerts.push(payload(def, "resolved", g.value, threshold, text, sample.timestamp, g.series));
  }
  const judge = (def: MetricDef, key: string, value: number, series: string | undefined) => {
    const current = next[key];
    const target = levelFor(def, value, current);
    if (target === current) return;
    if (next === state) next = { ...state };
    if (target) next[key] = target;
    else delete next[key];
    // A metric with only a critical threshold resolves against it; otherwise against warning.
    const threshold = (target === "critical" ? def.critical : (def.warning ?? def.critical))!;
    const text = series === undefined ? message(def, value, threshold, target) : seriesMessage(def, series, value, threshold, target);
    const level = target ?? "resolved";
    // The seed's five keep their original payload; defined metrics say which side is bad.
    alerts.push(
      dashboard.seed
        ? { level, metric: def.name, value, threshold, message: text, timestamp: sample.timestamp }
        : payload(def, level, value, threshold, text, sample.timestamp, series),
    );
  };
  for (const def of dashboard.metrics) {
    if (def.warning === undefined && def.critical === undefined) continue;
    if (isSplit(def)) {
      const values = sample.series?.[def.name];
      if (values) for (const series in values) judge(def, splitKey(def.name, series), values[series]!, series);
      continue;
    }
    const value = sample[def.name];
    if (typeof value === "number") judge(def, def.name, value, undefined);
  }
  return { alerts, state: next };
}

function payload(
  def: MetricDef,
  level: Alert["level"],
  value: number,
  threshold: number,
  message: string,
  timestamp: string,
  series: string | undefined,
): Alert {
  // Key order is the wire's: `series` right after `metric`, only for a split metric.
  const head: Pick<Alert, "level" | "metric" | "series"> =
    series === undefined ? { level, metric: def.name } : { level, metric: def.name, series };
  return { ...head, value, threshold, direction: def.direction, message, timestamp };
}

/** The level `value` puts the metric at, given the level it is at now. */
export function levelFor(def: MetricDef, value: number, current: Level | undefined): Level | undefined {
  const { warning, critical, hysteresis = 0 } = def;
  const sign = def.direction === "above" ? 1 : -1;
  // How far past threshold t the value is, on the bad side (negative: still on the good side).
  const past = (t: number | undefined) => (t === undefined ? -Infinity : sign * (value - t));
  if (past(critical) >= 0 || (current === "critical" && past(critical) >= -hysteresis)) return "critical";
  if (warning === undefined) return undefined;
  if (past(warning) >= 0 || (current !== undefined && past(warning) >= -hysteresis)) return "warning";
  return undefined;
}

/** The value as the card shows it: the metric's decimals and unit ("99.0%"). */
const shown = (def: MetricDef, value: number) => withUnit(value.toFixed(def.decimals), def.unit);

/** "CPU on web-3 is 99.0%, above critical 95%"; "CPU on web-3 back to normal at 70.0% (below 80%)". */
function seriesMessage(def: MetricDef, series: string, value: number, threshold: number, target: Level | undefined): string {
  const side = def.direction;
  if (target) return `${def.label} on ${series} is ${shown(def, value)}, ${side} ${target} ${withUnit(threshold, def.unit)}`;
  return `${def.label} on ${series} back to normal at ${shown(def, value)} (${side === "above" ? "below" : "above"} ${withUnit(threshold, def.unit)})`;
}

function message(def: MetricDef, value: number, threshold: number, target: Level | undefined): string {
  const side = def.direction;
  if (target) return `${def.label} ${withUnit(value, def.unit)} is ${side} ${target} threshold ${withUnit(threshold, def.unit)}`;
  return `${def.label} back to normal at ${withUnit(value, def.unit)} (${side === "above" ? "below" : "above"} ${withUnit(threshold, def.unit)})`;
}
