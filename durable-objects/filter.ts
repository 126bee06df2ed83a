// `?metrics=` filters. Viewers with the same filter share one encoded frame per event.
import { isMetricName, METRICS, type MetricName } from "../contract/index.ts";

export interface MetricFilter {
  /** Canonical form (contract order, no duplicates): the cache key for encoded frames. */
  key: string;
  metrics: ReadonlySet<MetricName>;
}

/** Parses a comma-separated list; returns the unknown names instead when there are any. */
export function parseMetricFilter(raw: string | null | undefined): MetricFilter | null | { unknown: string[] } {
  if (raw === null || raw === undefined) return null;
  const names = raw.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !isMetricName(n));
  if (unknown.length > 0 || names.length === 0) return { unknown: names.length === 0 ? [raw] : unknown };
  const set = new Set(names as MetricName[]);
  const ordered = METRICS.filter((m) => set.has(m));
  if (ordered.length === METRICS.length) return null; // all of them: same as no filter
  return { key: ordered.join(","), metrics: new Set(ordered) };
}
