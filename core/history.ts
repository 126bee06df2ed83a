// What the history route (worker/routes/series-query.ts) and the buckets that answer it
// (durable-objects/history/rollups.ts) must agree on.

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/**
 * 1-minute buckets are kept this much past HISTORY_DAYS, so "the last HISTORY_DAYS days", asked
 * a little late or between two sweeps, is still answered whole from them (and `auto` may choose
 * a sub-hour step for it).
 */
export const MINUTE_BUCKETS_SLACK_MS = HOUR_MS;
