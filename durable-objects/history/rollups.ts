// Downsampled history: 1-minute buckets (kept HISTORY_DAYS), 5-minute buckets (an internal tier
// for the day and week views, kept as long) and 1-hour buckets (kept SERIES_MAX_DAYS) of min,
// max, sum, count and last, in the dashboard object's own SQLite whatever the event log.
//
// What storage costs shaped it (Cloudflare bills rows written):
// - A row is one bucket of the whole dashboard, every metric packed in it (buckets.ts), so a
//   minute costs one row however many metrics the dashboard defines.
// - Minutes are gathered in memory and written when a sample of a later minute arrives (sample
//   time, so a backfill writes each minute it fills), with the watermark (the last event id they
//   hold) in the same transaction: about one row a minute. A restart rebuilds what memory held
//   from the event log after the watermark: nothing lost, nothing counted twice.
// - The 5-minute and 1-hour buckets are derived from the minute rows when they close, or again
//   when a late sample lands in a closed one: one row each. Until then queries read minutes.
// - A split metric's series (`series` in the sample) are columns `metric|series` of the same
//   rows: rows per minute do not grow with the series, only the row's size does (32 metrics ×
//   20 series ≈ 50 KB a row; 32 × 100, the most allowed, ≈ 240 KB; SQLite takes 2 MB).
import {
  compareEventIds,
  EVENT,
  formatEventId,
  parseEventId,
  SERIES_MAX_DAYS,
  splitKey,
  type EventId,
  type SeriesStep,
} from "../../contract/index.ts";
import { DAY_MS, MINUTE_BUCKETS_SLACK_MS, MINUTE_MS } from "../../core/history.ts";
import type { LogEntry } from "../../core/rpc.ts";
import type { EventLog } from "../event-log/event-log.ts";
import type { Sql } from "../storage/meter.ts";
import { decodeBucket, encodeBucket, foldBucket, foldValue, TIERS, type Bucket, type Tier } from "./buckets.ts";
import { migrateRollupsV1 } from "./migrate-v1.ts";
import { answerJson, type AnswerMetric, type RollupAnswer } from "./rollup-answer.ts";

export type { RollupAnswer, RollupColumns } from "./rollup-answer.ts";

const LOG_PAGE = 1000;

type Derived = { 5: number; 60: number };

/** What `add` needs of an event: committed entries, log entries and bench entries all fit. */
export interface RollupInput extends LogEntry {
  key?: EventId;
  payload?: Record<string, unknown>;
}

export class Rollups {
  /** False until everything in the log after the watermark is rolled in (see catchUp). */
  caughtUp = false;
  /** The last event rolled in (in memory or written). */
  private through: EventId | null;
  /** Minutes changed since the last write, by start: what they gained (sample-time minutes). */
  private readonly pending = new Map<number, Bucket>();
  /** The newest minute a sample has reached. */
  private newest = -Infinity;
  /** Per derived tier: every bucket that starts before this is written (and closed). */
  private derived: Derived = { 5: 0, 60: 0 };

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly sql: Sql,
    /** HISTORY_DAYS, read at every trim (the configuration may change). */
    private readonly historyDays: () => number,
  ) {
    const migrated = migrateRollupsV1(storage, sql);
    sql.exec(`CREATE TABLE IF NOT EXISTS rollups (
      tier INTEGER NOT NULL, start INTEGER NOT NULL, names TEXT NOT NULL, slots BLOB NOT NULL,
      PRIMARY KEY (tier, start)) WITHOUT ROWID`);
    sql.exec("CREATE TABLE IF NOT EXISTS rollup_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    if (migrated) this.saveMeta(parseEventId(migrated.through), migrated.derived);
    const [row] = sql.exec<{ value: string }>("SELECT value FROM rollup_meta WHERE key = 'state'").toArray();
    const meta = row ? (JSON.parse(row.value) as { through: string | null; derived: Derived }) : null;
    this.through = parseEventId(meta?.through);
    if (meta) this.derived = meta.derived;
  }

  /** The last event id rolled in (null: none yet). */
  get watermark(): string | null {
    return this.through ? formatEventId(this.through) : null;
  }

  /**
   * Rolls committed events in, in id order. Events at or below the watermark are skipped, so a
   * batch seen twice (the log read again after a restart) counts once. Only `metric-update`
   * events count; each sample goes in the minute of its own `timestamp`.
   */
  add(entries: readonly RollupInput[]): void {
    const keyOf = (e: RollupInput) => e.key ?? parseEventId(e.id)!;
    let start = 0;
    if (this.through) while (start < entries.length && compareEventIds(keyOf(entries[start]!), this.through) <= 0) start++;
    if (start === entries.length) return;
    const samples: { ts: number; payload: Record<string, unknown> }[] = [];
    let newest = this.newest;
    for (let i = start; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.event !== EVENT.metric) continue;
      const payload = e.payload ?? parse(e.data);
      const ts = typeof payload?.timestamp === "string" ? Date.parse(payload.timestamp) : NaN;
      if (!Number.isFinite(ts)) continue;
      samples.push({ ts, payload: payload! });
      newest = Math.max(newest, ts - (ts % MINUTE_MS));
    }
    // A later minute has begun: what memory holds (the minutes before it, and late samples) is
    // written first, up to the watermark as it stands before this batch.
    if (newest > this.newest && this.pending.size > 0) this.write(newest);
    for (const { ts, payload } of samples) {
      const minute = ts - (ts % MINUTE_MS);
      let bucket = this.pending.get(minute);
      if (!bucket) this.pending.set(minute, (bucket = new Map()));
      for (const name in payload) {
        const v = payload[name];
        if (typeof v === "number" && Number.isFinite(v)) foldValue(bucket, name, v, ts);
      }
      // A split metric's series: more columns in the same row (`metric|series`), not more rows.
      const series = payload.series;
      if (typeof series === "object" && series !== null) {
        for (const metric in series) {
          const values = (series as Record<string, Record<string, unknown>>)[metric]!;
          for (const name in values) {
            const v = values[name];
            if (typeof v === "number" && Number.isFinite(v)) foldValue(bucket, splitKey(metric, name), v, ts);
          }
        }
      }
    }
    this.newest = newest;
    this.through = keyOf(entries[entries.length - 1]!);
  }

  /**
   * Writes every minute memory holds and derives the 5-minute and hour buckets that are closed
   * by `closeTime` (the start of the newest minute), with the watermark: one transaction.
   */
  write(closeTime = this.newest): void {
    const minutes = [...this.pending.keys()];
    const derived = { ...this.derived };
    this.storage.transactionSync(() => {
      for (const [minute, delta] of this.pending) {
        const [stored] = this.rows(1, minute, minute + 1);
        if (stored) foldBucket(stored.bucket, delta);
        this.put(1, minute, stored?.bucket ?? delta);
      }
      for (const tier of TIERS.slice(1) as Tier[]) {
        const id = tier.id as 5 | 60;
        const boundary = closeTime - (closeTime % tier.ms);
        // Closed buckets a late minute landed in, derived again…
        const again = new Set(minutes.map((m) => m - (m % tier.ms)).filter((b) => b < derived[id]));
        for (const b of again) this.derive(tier, this.rows(1, b, b + tier.ms));
        // …and those closed since the last write, from their minutes.
        if (boundary > derived[id]) {
          this.derive(tier, this.rows(1, derived[id], boundary));
          derived[id] = boundary;
        }
      }
      this.saveMeta(this.through, derived);
    });
    this.derived = derived;
    this.pending.clear();
  }

  /**
   * Rolls in whatever the log holds after the watermark (after a restart, or on first start with
   * an existing log). The caller runs it where no commit can interleave (blockConcurrencyWhile or
   * the append chain), so nothing committed during the reads is missed.
   */
  async catchUp(log: EventLog): Promise<void> {
    for (;;) {
      const page = this.through ? await log.readAfter(formatEventId(this.through), LOG_PAGE) : await log.readSince(0, LOG_PAGE);
      this.add(page);
      if (page.length < LOG_PAGE) break;
    }
    this.caughtUp = true;
  }

  /**
   * The sweep: memory is written first (the event log is trimmed next, and must never lose an
   * event the rows do not hold yet), then rows older than their tier's retention are dropped.
   */
  trim(now: number): void {
    if (this.pending.size > 0) this.write();
    const minutes = now - this.historyDays() * DAY_MS - MINUTE_BUCKETS_SLACK_MS;
    const cutoff = { 1: minutes, 5: minutes, 60: now - SERIES_MAX_DAYS * DAY_MS };
    for (const { id, ms } of TIERS) this.sql.exec("DELETE FROM rollups WHERE tier = ? AND start < ?", id, cutoff[id] - ms);
  }

  /**
   * The answer for buckets of `step` (epoch-aligned) that overlap [fromMs, toMs], as JSON text
   * (SeriesAnswer, plus `count` columns with `withCount`). `avg` is rounded to two places past
   * the metric's own.
   */
  queryJson(metrics: readonly AnswerMetric[], fromMs: number, toMs: number, step: SeriesStep, withCount = false): string {
    return answerJson(metrics, fromMs, toMs, step, withCount, (tier, lo, hi) => this.buckets(tier, lo, hi));
  }

  /** `queryJson` with counts, parsed (tests, tools). */
  query(metrics: readonly AnswerMetric[], fromMs: number, toMs: number, step: SeriesStep): RollupAnswer {
    return JSON.parse(this.queryJson(metrics, fromMs, toMs, step, true)) as RollupAnswer;
  }

  /** The tier's buckets that start in [lo, hi): written rows, minutes not derived yet, and memory. */
  private buckets(tier: Tier, lo: number, hi: number): Map<number, Bucket> {
    const out = new Map<number, Bucket>();
    const add = (start: number, bucket: Bucket, shared: boolean) => {
      const b = start - (start % tier.ms);
      const into = out.get(b);
      if (into) foldBucket(into, bucket);
      else if (shared) foldBucket(out.set(b, new Map()).get(b)!, bucket);
      else out.set(b, bucket);
    };
    const done = tier.id === 1 ? hi : Math.max(lo, Math.min(hi, this.derived[tier.id]));
    for (const r of this.rows(tier.id, lo, done)) add(r.start, r.bucket, false);
    if (done < hi) for (const r of this.rows(1, done, hi)) add(r.start, r.bucket, false);
    for (const [minute, delta] of this.pending) if (minute >= lo && minute < hi) add(minute, delta, true);
    return out;
  }

  /** Folds minute rows into the buckets of `tier` and writes them. */
  private derive(tier: Tier, minutes: { start: number; bucket: Bucket }[]): void {
    const byStart = new Map<number, Bucket>();
    for (const { start, bucket } of minutes) {
      const b = start - (start % tier.ms);
      const into = byStart.get(b);
      if (into) foldBucket(into, bucket);
      else byStart.set(b, bucket);
    }
    for (const [start, bucket] of byStart) this.put(tier.id, start, bucket);
  }

  private rows(tier: number, lo: number, hi: number): { start: number; bucket: Bucket }[] {
    const out: { start: number; bucket: Bucket }[] = [];
    if (lo >= hi) return out;
    const cursor = this.sql.exec(
      "SELECT start, names, slots FROM rollups WHERE tier = ? AND start >= ? AND start < ? ORDER BY start",
      tier,
      lo,
      hi,
    );
    for (const [start, names, slots] of cursor.raw<[number, string, ArrayBuffer]>())
      out.push({ start, bucket: decodeBucket(names, slots) });
    return out;
  }

  private put(tier: number, start: number, bucket: Bucket): void {
    const { names, slots } = encodeBucket(bucket);
    this.sql.exec("INSERT OR REPLACE INTO rollups (tier, start, names, slots) VALUES (?, ?, ?, ?)", tier, start, names, slots);
  }

  private saveMeta(through: EventId | null, derived: Derived): void {
    const value = JSON.stringify({ through: through ? formatEventId(through) : null, derived });
    this.sql.exec("INSERT OR REPLACE INTO rollup_meta (key, value) VALUES ('state', ?)", value);
  }
}

function parse(data: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(data);
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
