// Presentation helpers over a dashboard's metric definitions (fetched, never compiled in).
import { getCurrentScope, onScopeDispose } from "vue";
import { levelFor, withUnit, type AlertLevel, type MetricDef } from "../../../contract/index.ts";

export type Level = "ok" | "warning" | "critical";

/**
 * The threshold band `value` is in, by the contract's rule (direction and hysteresis), given
 * the level the metric was at. Without thresholds, or without a value, always "ok".
 */
export function levelOf(def: MetricDef, value: number | undefined | null, current?: Level): Level {
  if (value === undefined || value === null) return current ?? "ok";
  return levelFor(def, value, current === "ok" ? undefined : current) ?? "ok";
}

const formatters = new Map<number, Intl.NumberFormat>();
function formatter(decimals: number): Intl.NumberFormat {
  let f = formatters.get(decimals);
  if (!f)
    formatters.set(decimals, (f = new Intl.NumberFormat(undefined, { minimumFractionDigits: decimals, maximumFractionDigits: decimals })));
  return f;
}

/** The value with the metric's decimals, grouped for the locale: "1,234", "99.50". */
export function formatValue(def: MetricDef, value: number | undefined | null): string {
  if (value === undefined || value === null) return "—";
  return formatter(def.decimals).format(value);
}

const tickFormatters = new Map<number, Intl.NumberFormat>();
/** An axis tick: at most the metric's decimals, no trailing zeros ("95", "99.5"). */
export function formatTick(def: MetricDef, value: number): string {
  let f = tickFormatters.get(def.decimals);
  if (!f) tickFormatters.set(def.decimals, (f = new Intl.NumberFormat(undefined, { maximumFractionDigits: def.decimals })));
  return f.format(value);
}

/** Value with its unit, the way the server's alert messages write it: "97.5%", "1,234 req/s". */
export function formatWithUnit(def: MetricDef, value: number): string {
  return withUnit(formatValue(def, value), def.unit);
}

/** A threshold as the definition writes it, with its unit: "90%", "20 orders" (no padding decimals). */
const asWritten = new Intl.NumberFormat(undefined, { maximumFractionDigits: 6 });
export function formatThreshold(def: MetricDef, value: number): string {
  return withUnit(asWritten.format(value), def.unit);
}

/** "≥" or "≤": which side of a threshold is bad. */
export const badSide = (def: Pick<MetricDef, "direction">) => (def.direction === "below" ? "≤" : "≥");

/** A card's footer: "warn ≤ 40 orders · crit ≤ 20 orders"; null when the metric never alerts. */
export function thresholdsText(def: MetricDef): string | null {
  const parts: string[] = [];
  if (def.warning !== undefined) parts.push(`warn ${badSide(def)} ${formatThreshold(def, def.warning)}`);
  if (def.critical !== undefined) parts.push(`crit ${badSide(def)} ${formatThreshold(def, def.critical)}`);
  return parts.length > 0 ? parts.join(" · ") : null;
}

/** The metric's colour: a palette slot by its position in the definition (styles.css). */
export const PALETTE_SIZE = 12;
export const seriesVar = (index: number) => `var(--series-${index % PALETTE_SIZE})`;

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

/**
 * The metrics shown, in definition order: those named in `names` (the address bar's
 * `?metrics=`) that the dashboard defines; all of them when `names` is empty or names none.
 */
export function selectMetrics(metrics: readonly MetricDef[], names: readonly string[]): MetricDef[] {
  const chosen = metrics.filter((m) => names.includes(m.name));
  return chosen.length > 0 ? chosen : [...metrics];
}

/**
 * `fn` to run at most once a frame however often the returned function is called (bursts of
 * events become one render). A hidden tab has no frames: a short timer instead. In an effect
 * scope (a component, a composable), a pending run is cancelled, and no other scheduled, once
 * the scope is disposed.
 */
export function onceAFrame(fn: () => void): () => void {
  /** Cancels the pending run; set while one is pending (and for good after dispose). */
  let cancel: (() => void) | null = null;
  const run = () => {
    cancel = null;
    fn();
  };
  if (getCurrentScope()) {
    onScopeDispose(() => {
      cancel?.();
      cancel = () => {};
    });
  }
  return () => {
    if (cancel) return;
    if (typeof requestAnimationFrame === "function" && !globalThis.document?.hidden) {
      const id = requestAnimationFrame(run);
      cancel = () => cancelAnimationFrame(id);
    } else {
      const id = setTimeout(run, 50);
      cancel = () => clearTimeout(id);
    }
  };
}
