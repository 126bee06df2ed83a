// The history buckets' contents: for one time bucket, a slot per column (a metric) holding min,
// max, sum, count, last and the time of last (a split metric's series: a column each, `metric|series`).
// A stored row is one bucket of the whole dashboard:
// its column names (JSON) and their slots packed in one Float64Array, so writing a minute costs
// one row however many metrics the dashboard has.

import { HOUR_MS, MINUTE_MS } from "../../core/history.ts";

/** The stored tiers: minutes, 5 minutes (derived, for day and week views), hours (derived). */
export const TIERS = [
  { id: 1, ms: MINUTE_MS },
  { id: 5, ms: 5 * MINUTE_MS },
  { id: 60, ms: HOUR_MS },
] as const;
export type Tier = (typeof TIERS)[number];

/** Per slot: min, max, sum, count (0 = empty), last, timestamp of last. */
export const F = 6;
const [LO, HI, SUM, N, LAST, LAST_TS] = [0, 1, 2, 3, 4, 5];

/** One bucket: column name → its slot (F numbers). */
export type Bucket = Map<string, Float64Array>;

/** Folds a sample (or another slot's min/max/sum/count/last) into `column` of `bucket`. Callers go in id order, so ties go to the later. */
export function foldValue(bucket: Bucket, column: string, v: number, ts: number): void {
  foldSlot(bucket, column, v, v, v, 1, v, ts);
}

export function foldSlot(
  bucket: Bucket,
  column: string,
  lo: number,
  hi: number,
  sum: number,
  n: number,
  last: number,
  lastTs: number,
): void {
  const slot = bucket.get(column);
  if (!slot) {
    bucket.set(column, Float64Array.of(lo, hi, sum, n, last, lastTs));
    return;
  }
  if (lo < slot[LO]!) slot[LO] = lo;
  if (hi > slot[HI]!) slot[HI] = hi;
  slot[SUM]! += sum;
  slot[N]! += n;
  if (lastTs >= slot[LAST_TS]!) {
    slot[LAST] = last;
    slot[LAST_TS] = lastTs;
  }
}

/** Folds every column of `from` into `into`. */
export function foldBucket(into: Bucket, from: Bucket): void {
  for (const [column, s] of from) foldSlot(into, column, s[LO]!, s[HI]!, s[SUM]!, s[N]!, s[LAST]!, s[LAST_TS]!);
}

/** A bucket as a row's two values: its column names as JSON, and the slots packed in their order. */
export function encodeBucket(bucket: Bucket): { names: string; slots: ArrayBuffer } {
  const names = [...bucket.keys()];
  const slots = new Float64Array(names.length * F);
  names.forEach((name, i) => slots.set(bucket.get(name)!, i * F));
  return { names: JSON.stringify(names), slots: slots.buffer };
}

const namesCache = new Map<string, string[]>();
/** What the cache holds, in characters of names: split metrics' rows name hundreds of series, and rows differ. */
let cachedChars = 0;
const MAX_CACHED_CHARS = 1 << 20;

/** A stored row back into a bucket. Rows of one dashboard mostly share their names: parsed once. */
export function decodeBucket(names: string, slots: ArrayBuffer): Bucket {
  let list = namesCache.get(names);
  if (!list) {
    list = JSON.parse(names) as string[];
    if (namesCache.size > 256 || cachedChars + names.length > MAX_CACHED_CHARS) {
      namesCache.clear();
      cachedChars = 0;
    }
    if (names.length <= MAX_CACHED_CHARS / 4) {
      namesCache.set(names, list);
      cachedChars += names.length;
    }
  }
  const all = new Float64Array(slots);
  const bucket: Bucket = new Map();
  list.forEach((name, i) => bucket.set(name, all.slice(i * F, i * F + F)));
  return bucket;
}

/** A column's slot as named fields. */
export function slotFields(s: Float64Array): { min: number; max: number; sum: number; count: number; last: number; lastTs: number } {
  return { min: s[LO]!, max: s[HI]!, sum: s[SUM]!, count: s[N]!, last: s[LAST]!, lastTs: s[LAST_TS]! };
}
