// A viewer's filter: `?metrics=` (which of the dashboard's metrics) and `?logs=` (the minimum log
// level, or none). Viewers with the same filter form a group and share one encoded frame per event.
import { DEFAULT_LOG_LEVEL, isLogLevel, LOG_LEVELS, logLevelRank, type LogLevel } from "../contract/index.ts";

export interface StreamFilter {
  /** Canonical form: the cache key for encoded frames ("*" is the default filter, never built here). */
  key: string;
  /** The chosen metrics in definition order; null: all of them. */
  names: readonly string[] | null;
  metrics: ReadonlySet<string> | null;
  /** Log lines below this level are not sent; null: no log lines at all (`?logs=none`). */
  minLog: LogLevel | null;
}

/** Whether a line of `level` reaches a viewer whose filter is `filter` (null: the default). */
export function wantsLog(filter: StreamFilter | null, level: unknown): boolean {
  const min = filter ? filter.minLog : DEFAULT_LOG_LEVEL;
  return min !== null && logLevelRank(level) >= logLevelRank(min);
}

/**
 * Parses `?metrics=` against the dashboard's metric names (in definition order) and `?logs=`;
 * null when both are the default. An error names what is wrong, as the Worker's 400 says it.
 */
export function parseStreamFilter(
  query: { metrics?: string | null; logs?: string | null },
  defined: readonly string[],
): StreamFilter | null | { error: string } {
  let names: string[] | null = null;
  if (query.metrics !== null && query.metrics !== undefined) {
    const raw = query.metrics;
    const asked = raw
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = asked.length === 0 ? [raw] : asked.filter((n) => !defined.includes(n));
    if (unknown.length > 0) {
      return { error: `metrics: unknown metric ${unknown.map((m) => JSON.stringify(m)).join(", ")}; known: ${defined.join(", ")}` };
    }
    const set = new Set(asked);
    names = defined.filter((m) => set.has(m));
    if (names.length === defined.length) names = null; // all of them: same as no filter
  }
  let minLog: LogLevel | null = DEFAULT_LOG_LEVEL;
  if (query.logs !== null && query.logs !== undefined) {
    if (query.logs === "none") minLog = null;
    else if (isLogLevel(query.logs)) minLog = query.logs;
    else return { error: `logs: must be one of ${LOG_LEVELS.join(", ")} or none, got ${JSON.stringify(query.logs)}` };
  }
  if (names === null && minLog === DEFAULT_LOG_LEVEL) return null;
  const key = `${names ? names.join(",") : "*"};logs=${minLog ?? "none"}`;
  return { key, names, metrics: names ? new Set(names) : null, minLog };
}
