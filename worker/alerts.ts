// Threshold rules shared by every published sample, simulated or real. Levels escalate as soon
// as a value reaches a threshold and fall back only once it is `hysteresis` below it, so a
// value hovering at a threshold raises one alert, not one per sample.
import { METRIC_INFO, METRICS, type Alert, type MetricName, type MetricSample } from "../contract/index.ts";

export type Level = "warning" | "critical";
export type AlertState = Partial<Record<MetricName, Level>>;

const LABEL = { warning: "above warning threshold", critical: "above critical threshold" } as const;

export function evaluateAlerts(sample: MetricSample, state: AlertState): { alerts: Alert[]; state: AlertState } {
  const alerts: Alert[] = [];
  const next: AlertState = { ...state };
  for (const metric of METRICS) {
    const { warning, critical, hysteresis = 0, label, unit } = METRIC_INFO[metric];
    if (warning === undefined || critical === undefined) continue;
    const value = sample[metric];
    const current = state[metric];
    let target: Level | undefined;
    if (value >= critical || (current === "critical" && value >= critical - hysteresis)) target = "critical";
    else if (value >= warning || (current !== undefined && value >= warning - hysteresis)) target = "warning";
    if (target === current) continue;

    if (target) next[metric] = target;
    else delete next[metric];
    const threshold = target === "critical" ? critical : warning;
    const shown = `${value}${unit}`;
    alerts.push({
      level: target ?? "resolved",
      metric,
      value,
      threshold,
      message: target
        ? `${label} ${shown} is ${LABEL[target]} ${threshold}${unit}`
        : `${label} back to normal at ${shown} (below ${threshold}${unit})`,
      timestamp: sample.timestamp,
    });
  }
  return { alerts, state: next };
}
