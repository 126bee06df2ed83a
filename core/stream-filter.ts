// A viewer's filter: `?metrics=` (which of the dashboard's metrics) and `?logs=` (the minimum log
// level, or none). Viewers with the same filter form a group and share one encoded frame per event.
// Plain data: the Worker parses it and hands it to the dashboard's object over RPC.
import { DEFAULT_LOG_LEVEL, isLogLevel, LOG_LEVELS, logLevelRank, type LogLevel } from "../contract/index.ts";
import { parseMetricList } from "./metric-list.ts";

export interface StreamFilter {
  /** Canonical form: the cache key for encoded frames ("*" is the default filter, never built here). */
  key: string;
  /** The chosen metrics in definition order; null: all of them. */
  names: readonly string[] | null;
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
    const list = parseMetricList(query.metrics, defined);
    if ("error" in list) return list;
    names = list.names;
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
  return { key, names, minLog };
}
