// Presentation helpers over the contract's metric definitions (never a copy of them).
import { METRIC_INFO, type AlertLevel, type MetricName } from "../../../contract/index.ts";

export type Level = "ok" | "warning" | "critical";

/** The threshold band a value is in; metrics without thresholds are always "ok". */
export function levelOf(metric: MetricName, value: number | undefined): Level {
  const { warning, critical } = METRIC_INFO[metric];
  if (value === undefined) return "ok";
  if (critical !== undefined && value >= critical) return "critical";
  if (warning !== undefined && value >= warning) return "warning";
  return "ok";
}

const formatters = new Map<number, Intl.NumberFormat>();
function formatter(decimals: number): Intl.NumberFormat {
  let f = formatters.get(decimals);
  if (!f) formatters.set(decimals, (f = new Intl.NumberFormat(undefined, { minimumFractionDigits: decimals, maximumFractionDigits: decimals })));
  return f;
}

export function formatValue(metric: MetricName, value: number | undefined | null): string {
  if (value === undefined || value === null) return "—";
  return formatter(METRIC_INFO[metric].decimals).format(value);
}

/** Value with its unit, as a sentence would say it: "93.1 %", "1,234 req/s", "212". */
export function formatWithUnit(metric: MetricName, value: number): string {
  const unit = METRIC_INFO[metric].unit;
  return unit ? `${formatValue(metric, value)} ${unit}` : formatValue(metric, value);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
export function formatTime(ms: number): string {
  return timeFormat.format(ms);
}

const clockFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
export function formatClock(ms: number): string {
  return clockFormat.format(ms);
}

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  return `${Math.floor(m / 60)} h ${m % 60} min ago`;
}

export const LEVEL_LABEL: Record<AlertLevel | Level, string> = {
  ok: "Normal",
  warning: "Warning",
  critical: "Critical",
  resolved: "Resolved",
};

export const integer = new Intl.NumberFormat();
