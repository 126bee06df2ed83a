// Chart helpers: a colour with some alpha (fills, bands), and the y range of a metric's chart.
import type { MetricDef } from "../../../contract/index.ts";

/** `#rrggbb` → `rgba(…, alpha)`, for fills under the line. */
export function withAlpha(hex: string, alpha: number): string {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  return `rgba(${parseInt(m[1]!, 16)}, ${parseInt(m[2]!, 16)}, ${parseInt(m[3]!, 16)}, ${alpha})`;
}

/** How many spans of the data away a min or max may be and still be drawn. */
const NEAR_SPANS = 6;

/**
 * A chart's y range: the data and both thresholds, with some room; never past min/max. A bound
 * near that (within a few spans) is shown too, so a 0–100 % gauge reads as one while a ratio
 * living at 99.x % keeps its detail; a metric without thresholds starts at its min (a count
 * starts at 0, so its noise does not look like a crisis).
 */
export function yRange(def: MetricDef, dataMin: number | null, dataMax: number | null): [number, number] {
  const values = [def.warning, def.critical, dataMin, dataMax].filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  if (values.length === 0) values.push(def.min ?? 0, def.max ?? (def.min ?? 0) + 1);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const span = hi - lo || Math.abs(hi) || 1;
  lo -= span * 0.12;
  hi += span * 0.12;
  const alerts = def.warning !== undefined || def.critical !== undefined;
  if (def.min !== undefined && (!alerts || lo - def.min <= NEAR_SPANS * span)) lo = def.min;
  if (def.max !== undefined && def.max - hi <= NEAR_SPANS * span) hi = def.max;
  return lo < hi ? [lo, hi] : [lo - 1, hi + 1];
}
