// `?metrics=` filters. Viewers with the same filter share one encoded frame per event.

export interface MetricFilter {
  /** Canonical form (definition order, no duplicates): the cache key for encoded frames. */
  key: string;
  /** The chosen metrics, in definition order. */
  names: readonly string[];
  metrics: ReadonlySet<string>;
}

/**
 * Parses a comma-separated list against the dashboard's metric names (in definition order);
 * returns the unknown names instead when there are any.
 */
export function parseMetricFilter(raw: string | null | undefined, defined: readonly string[]): MetricFilter | null | { unknown: string[] } {
  if (raw === null || raw === undefined) return null;
  const names = raw.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !defined.includes(n));
  if (unknown.length > 0 || names.length === 0) return { unknown: names.length === 0 ? [raw] : unknown };
  const set = new Set(names);
  const ordered = defined.filter((m) => set.has(m));
  if (ordered.length === defined.length) return null; // all of them: same as no filter
  return { key: ordered.join(","), names: ordered, metrics: new Set(ordered) };
}
