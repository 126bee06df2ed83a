// When a failed attempt is tried again. 429, 5xx, a timeout or a network error: again after
// about 5 s, 30 s, 2 min, 10 min, 30 min, then every hour, until 24 h after the message was
// queued; a `Retry-After` the receiver sends wins over the schedule. Any other status (a 4xx:
// the request itself is wrong, or the hook is gone) is final.

export const BACKOFF_MS = [5_000, 30_000, 2 * 60_000, 10 * 60_000, 30 * 60_000] as const;
export const HOURLY_MS = 60 * 60_000;
/** A message still failing this long after it was queued is given up. */
export const GIVE_UP_MS = 24 * 60 * 60_000;
/** A Retry-After is honoured up to this (a longer one is a misconfigured receiver, not a plan). */
const MAX_RETRY_AFTER_MS = 6 * 60 * 60_000;

/** The wait after the `failures`-th failed attempt in a row (1 = the first). */
export const retryDelay = (failures: number): number => BACKOFF_MS[failures - 1] ?? HOURLY_MS;

/** Statuses worth trying again: the receiver is busy or broken, not the request. */
export const retryable = (status: number): boolean => status === 429 || status >= 500;

/** `Retry-After` (seconds, or an HTTP date) as a wait in ms from `nowMs`; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  // Delta-seconds, or an HTTP-date ("Wed, 21 Oct 2031 07:28:00 GMT"; Date.parse takes far more, such as "-5").
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : /^[A-Za-z]{3}, /.test(value) ? Date.parse(value) - nowMs : NaN;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 1000), MAX_RETRY_AFTER_MS);
}
