// The dashboard's recent committed events in memory, so history and the common reconnect are
// served without touching the log (or, on a relay, the dashboard's object). The dashboard object
// and each relay keep one.
import { compareEventIds, LIVE_WINDOW_SECONDS, type EventId } from "../../contract/index.ts";
import type { Entry } from "./fanout.ts";

const WINDOW_MS = LIVE_WINDOW_SECONDS * 1000;
export const WINDOW_MAX_ENTRIES = 4000;
/**
 * What the window may hold in bytes, by `entryBytes`: 4,000 log lines of 8 KB would be about
 * 100 MB of strings, frames and parsed payloads, most of an object's 128 MB.
 */
export const WINDOW_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Memory an entry holds, roughly: its payload text, an encoded frame of it and, once a filter
 * needed it, the parsed payload (each about as large as the text), plus the object around them.
 */
export const entryBytes = (e: { data: string }): number => 3 * e.data.length + 200;

/**
 * The first millisecond of "the last `seconds` seconds" before `at`, clamped to retention.
 * Strictly after `at - seconds`, so `history=0` sends nothing, even an event from that very millisecond.
 */
export function historySince(at: number, seconds: number, retentionSeconds: number): number {
  return at - Math.min(seconds, retentionSeconds) * 1000 + 1;
}

export class RecentWindow {
  /** Ascending by id; holds every event with id > `coveredAfter` (null: every event there is). */
  entries: Entry[] = [];
  coveredAfter: EventId | null = null;
  /** `entryBytes` of what it holds. */
  bytes = 0;

  /** @param retentionSeconds read on every trim (the configuration may change). */
  constructor(private readonly retentionSeconds: () => number) {}

  /** The oldest time it reaches back to now: 15 minutes, or less when retention is shorter. */
  start(now = Date.now()): number {
    return now - Math.min(WINDOW_MS, this.retentionSeconds() * 1000);
  }

  /** Appends newly committed events (ascending, all newer than what it holds). */
  push(entries: Entry[]): void {
    for (const e of entries) {
      this.entries.push(e);
      this.bytes += entryBytes(e);
    }
    this.trim();
  }

  /** Replaces what it holds: `entries` is everything with id > `coveredAfter`. */
  reset(entries: Entry[], coveredAfter: EventId | null): void {
    this.entries = entries;
    this.coveredAfter = coveredAfter;
    this.bytes = entries.reduce((n, e) => n + entryBytes(e), 0);
    this.trim();
  }

  /** Forgets what aged out (older than its span), and the oldest past its caps (4,000 entries, WINDOW_MAX_BYTES). */
  trim(now = Date.now()): void {
    const minMs = this.start(now);
    let drop = 0;
    const over = () => this.entries.length - drop > WINDOW_MAX_ENTRIES || this.bytes > WINDOW_MAX_BYTES;
    while (drop < this.entries.length && (this.entries[drop]!.key.ms < minMs || over())) this.bytes -= entryBytes(this.entries[drop++]!);
    if (drop === 0) return;
    this.coveredAfter = this.entries[drop - 1]!.key;
    this.entries.splice(0, drop);
  }

  /** Whether it can serve a resume after `after` (or, without one, the history since `sinceMs`). */
  covers(after: EventId | null, sinceMs: number): boolean {
    if (this.coveredAfter === null) return true;
    if (after) return compareEventIds(after, this.coveredAfter) >= 0;
    return this.coveredAfter.ms < sinceMs;
  }

  /** Whether an event with id `key` is one it holds (or will hold): read from a log, stop there. */
  holds(key: EventId): boolean {
    return this.coveredAfter !== null && compareEventIds(key, this.coveredAfter) > 0;
  }

  /**
   * An id it would hold (newer than `coveredAfter`, or any id while it holds every event there
   * is) but does not: never issued by this dashboard, e.g. from before its log was reset.
   */
  lacks(key: EventId): boolean {
    if (this.coveredAfter !== null && compareEventIds(key, this.coveredAfter) <= 0) return false;
    let [lo, hi] = [0, this.entries.length - 1];
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = compareEventIds(this.entries[mid]!.key, key);
      if (c === 0) return false;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return true;
  }

  /** Its entries after `after` (or, without it, since `sinceMs`). */
  since(after: EventId | null, sinceMs: number): Entry[] {
    const out: Entry[] = [];
    for (const e of this.entries) {
      if (after ? compareEventIds(e.key, after) <= 0 : e.key.ms < sinceMs) continue;
      out.push(e);
    }
    return out;
  }
}
