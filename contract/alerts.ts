// Threshold rules shared by every published sample, simulated or real, for every metric a
// dashboard defines. Levels escalate as soon as a value reaches a threshold (from the side its
// `direction` names) and fall back only once it is `hysteresis` back past it, so a value
// hovering at a threshold raises one alert, not one per sample. A sample that carries only some
// metrics is judged on those alone: the others keep their level.
import type { Alert, MetricUpdate } from "./events.ts";
import { withUnit, type DashboardDef, type MetricDef } from "./metrics.ts";

export type Level = "warning" | "critical";
/** Each alerting metric's current level, by name (absent = normal). Persisted by the object. */
export type AlertState = Record<string, Level>;

export function evaluateAlerts(
  sample: MetricUpdate,
  dashboard: Pick<DashboardDef, "metrics" | "seed">,
  state: AlertState,
): { alerts: Alert[]; state: AlertState } {
  const alerts: Alert[] = [];
  let next = state;
  for (const def of dashboard.metrics) {
    const value = sample[def.name];
    if (typeof value !== "number" || (def.warning === undefined && def.critical === undefined)) continue;
    const current = state[def.name];
    const target = levelFor(def, value, current);
    if (target === current) continue;

    if (next === state) next = { ...state };
    if (target) next[def.name] = target;
    else delete next[def.name];
    // A metric with only a critical threshold resolves against it; otherwise against warning.
    const threshold = (target === "critical" ? def.critical : (def.warning ?? def.critical))!;
    const alert: Alert = {
      level: target ?? "resolved",
      metric: def.name,
      value,
      threshold,
      message: message(def, value, threshold, target),
      timestamp: sample.timestamp,
    };
    // The seed's five keep their original payload; defined metrics say which side is bad.
    alerts.push(
      dashboard.seed
        ? alert
        : {
            level: alert.level,
            metric: alert.metric,
            value,
            threshold,
            direction: def.direction,
            message: alert.message,
            timestamp: alert.timestamp,
          },
    );
  }
  return { alerts, state: next };
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

function message(def: MetricDef, value: number, threshold: number, target: Level | undefined): string {
  const side = def.direction;
  if (target) return `${def.label} ${withUnit(value, def.unit)} is ${side} ${target} threshold ${withUnit(threshold, def.unit)}`;
  return `${def.label} back to normal at ${withUnit(value, def.unit)} (${side === "above" ? "below" : "above"} ${withUnit(threshold, def.unit)})`;
}
