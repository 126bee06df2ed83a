// Downsampled history: per metric, 1-minute buckets (kept HISTORY_DAYS) and 1-hour buckets (kept
// SERIES_MAX_DAYS) of min, max, sum, count and last, in the dashboard object's own SQLite storage
// whatever the event log's backend. Built incrementally from committed events; a persisted
// watermark ("rolled up through event id"), written in the same transaction as the buckets,
// says where to pick up from the log after a restart, so no event is counted twice or lost.
//
// Buckets are stored packed, several to a row (Float64Array slots): an hour of minute buckets,
// 6 hours of 5-minute buckets (an internal tier for the day and week views), a day of hour
// buckets. SQLite charges a query mostly per row, so the week view reads 29 rows per metric, not
// 10,080. Rows stay under 4 KB, inside one b-tree page of a rowid table (no overflow pages), so
// the commit that rewrites one writes a page per tier, as a row per bucket would.
import {
  compareEventIds,
  EVENT,
  formatEventId,
  parseEventId,
  round,
  SERIES_MAX_DAYS,
  SERIES_STEPS,
  type EventId,
  type SeriesColumns,
  type SeriesStep,
} from "../../contract/index.ts";
import { DAY_MS, HOUR_MS, MINUTE_BUCKETS_SLACK_MS, MINUTE_MS } from "../../core/history.ts";
import type { LogEntry } from "../../core/rpc.ts";
import type { EventLog } from "../event-log/event-log.ts";

const LOG_PAGE = 1000;

/**
 * A stored tier: bucket width (`slot`), the span one row packs (`row`, at most 72 slots: 3,456
 * bytes) and whether it is kept HISTORY_DAYS or SERIES_MAX_DAYS. Answers read the coarsest tier
 * whose buckets divide their step: 5- to 30-minute steps read 288 slots a day instead of 1,440.
 */
const TIERS = [
  { id: 1, slot: MINUTE_MS, row: HOUR_MS, keep: "history" },
  { id: 5, slot: 5 * MINUTE_MS, row: 6 * HOUR_MS, keep: "history" },
  { id: 60, slot: HOUR_MS, row: DAY_MS, keep: "max" },
] as const;
type Tier = (typeof TIERS)[number];
/** Per slot: min, max, sum, count (0 = empty slot), last, timestamp of last. */
const F = 6;
const [LO, HI, SUM, N, LAST, LAST_TS] = [0, 1, 2, 3, 4, 5];

/** What `add` needs of an event: committed entries, log entries and bench entries all fit. */
export interface RollupInput extends LogEntry {
  key?: EventId;
  payload?: Record<string, unknown>;
}

/** Columns of one metric, with `count` (the HTTP answer leaves it out; tests and tools use it). */
export type RollupColumns = SeriesColumns & { count: (number | null)[] };

export interface RollupAnswer {
  step: SeriesStep;
  t: number[];
  series: Record<string, RollupColumns>;
}

export class Rollups {
  /** False until everything in the log after the watermark is rolled in (see catchUp). */
  caughtUp = false;
  private through: EventId | null = null;
  private readonly sql: SqlStorage;

  constructor(
    private readonly storage: DurableObjectStorage,
    /** HISTORY_DAYS, read at every trim (the configuration may change). */
    private readonly historyDays: () => number,
  ) {
    const sql = (this.sql = storage.sql);
    // One table for every tier (each new object creates them: fewer schema changes). A rowid
    // table keeps up to ~4 KB in the page (WITHOUT ROWID: ~1 KB); the key index makes a query
    // one contiguous range per metric.
    sql.exec(
      `CREATE TABLE IF NOT EXISTS rollups (tier INTEGER NOT NULL, metric TEXT NOT NULL, start INTEGER NOT NULL, slots BLOB NOT NULL)`,
    );
    sql.exec("CREATE UNIQUE INDEX IF NOT EXISTS rollups_key ON rollups (tier, metric, start)");
    sql.exec("CREATE TABLE IF NOT EXISTS rollup_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const [row] = sql.exec<{ value: string }>("SELECT value FROM rollup_meta WHERE key = 'through'").toArray();
    this.through = parseEventId(row?.value);
  }

  /** The last event id rolled in (null: none yet). */
  get watermark(): string | null {
    return this.through ? formatEventId(this.through) : null;
  }

  /**
   * Rolls committed events in, in id order. Events at or below the watermark are skipped, so a
   * batch seen twice (the log read again after a restart) counts once. Only `metric-update`
   * events count; each sample goes in the buckets of its own `timestamp`.
   */
  add(entries: readonly RollupInput[]): void {
    const keyOf = (e: RollupInput) => e.key ?? parseEventId(e.id)!;
    let start = 0;
    if (this.through) while (start < entries.length && compareEventIds(keyOf(entries[start]!), this.through) <= 0) start++;
    if (start === entries.length) return;
    // Merge the batch in memory first: one read and one write per touched row, not per sample.
    const rows = TIERS.map(() => new Map<string, Map<number, Float64Array>>());
    for (let i = start; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.event !== EVENT.metric) continue;
      const payload = e.payload ?? parse(e.data);
      const ts = typeof payload?.timestamp === "string" ? Date.parse(payload.timestamp) : NaN;
      if (!Number.isFinite(ts)) continue;
      for (const name in payload) {
        const v = payload[name];
        if (name === "timestamp" || typeof v !== "number" || !Number.isFinite(v)) continue;
        TIERS.forEach((tier, k) => {
          let byStart = rows[k]!.get(name);
          if (!byStart) rows[k]!.set(name, (byStart = new Map()));
          const rowStart = ts - (ts % tier.row);
          let slots = byStart.get(rowStart);
          if (!slots) byStart.set(rowStart, (slots = new Float64Array((tier.row / tier.slot) * F)));
          fold(slots, ((ts - rowStart) / tier.slot) | 0, v, v, v, 1, v, ts);
        });
      }
    }
    const through = keyOf(entries[entries.length - 1]!);
    // Buckets and watermark in one transaction: after a crash, either both or neither.
    this.storage.transactionSync(() => {
      rows.forEach((byMetric, k) => {
        const tier = TIERS[k]!.id;
        for (const [name, byStart] of byMetric) {
          for (const [rowStart, batch] of byStart) {
            const [stored] = this.sql
              .exec<{ id: number; slots: ArrayBuffer }>(
                "SELECT rowid AS id, slots FROM rollups WHERE tier = ? AND metric = ? AND start = ?",
                tier,
                name,
                rowStart,
              )
              .toArray();
            if (!stored) {
              this.sql.exec(
                "INSERT INTO rollups (tier, metric, start, slots) VALUES (?, ?, ?, ?)",
                tier,
                name,
                rowStart,
                batch.buffer as ArrayBuffer,
              );
            } else {
              // The stored slots hold only older ids, so on equal timestamps the batch's value wins.
              const merged = new Float64Array(stored.slots.slice(0));
              for (let s = 0; s * F < batch.length; s++) {
                const o = s * F;
                if (batch[o + N]! > 0)
                  fold(merged, s, batch[o + LO]!, batch[o + HI]!, batch[o + SUM]!, batch[o + N]!, batch[o + LAST]!, batch[o + LAST_TS]!);
              }
              this.sql.exec("UPDATE rollups SET slots = ? WHERE rowid = ?", merged.buffer as ArrayBuffer, stored.id);
            }
          }
        }
      });
      this.sql.exec("INSERT OR REPLACE INTO rollup_meta (key, value) VALUES ('through', ?)", formatEventId(through));
    });
    this.through = through;
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

  /** Drops rows whose buckets are all older than their tier's retention (run on the object's sweep). */
  trim(now: number): void {
    const cutoff = { history: now - this.historyDays() * DAY_MS - MINUTE_BUCKETS_SLACK_MS, max: now - SERIES_MAX_DAYS * DAY_MS };
    for (const { id, row, keep } of TIERS) this.sql.exec("DELETE FROM rollups WHERE tier = ? AND start < ?", id, cutoff[keep] - row);
  }

  /**
   * The answer for buckets of `step` (epoch-aligned) that overlap [fromMs, toMs], as JSON text
   * (SeriesAnswer, plus `count` columns with `withCount`). `t` lists the buckets where any of the
   * metrics has data; a metric without data in one of them gets null there. `avg` is rounded to
   * two places past the metric's own.
   */
  queryJson(
    metrics: readonly { name: string; decimals: number }[],
    fromMs: number,
    toMs: number,
    step: SeriesStep,
    withCount = false,
  ): string {
    const stepMs = SERIES_STEPS[step];
    const tier = TIERS.findLast((t) => stepMs % t.slot === 0)!; // the coarsest that fits
    const lo = Math.floor(fromMs / stepMs) * stepMs;
    const hi = (Math.floor(toMs / stepMs) + 1) * stepMs;
    const columns = metrics.map(({ name, decimals }) => this.columns(tier, name, lo, hi, stepMs, decimals));
    // Usually every metric has data in the same buckets; otherwise align them on the union.
    const first = columns.find((c) => c.t.length > 0)?.t ?? [];
    const shared = columns.every((c) => c.t.length === 0 || sameTimes(c.t, first));
    const t = shared ? first : [...new Set(columns.flatMap((c) => c.t))].sort((a, b) => a - b);
    const index = shared ? null : new Map(t.map((bt, i) => [bt, i]));
    const series: Record<string, Partial<RollupColumns>> = {};
    metrics.forEach(({ name }, m) => {
      const c = columns[m]!;
      const keys: (keyof RollupColumns)[] = ["min", "max", "avg", "last", ...(withCount ? (["count"] as const) : [])];
      const out: Partial<RollupColumns> = {};
      for (const k of keys) {
        if (c.t.length === t.length) out[k] = c[k];
        else {
          const col = new Array<number | null>(t.length).fill(null);
          c.t.forEach((bt, j) => (col[index ? index.get(bt)! : j] = c[k][j]!));
          out[k] = col;
        }
      }
      series[name] = out;
    });
    return JSON.stringify({ step, t, series });
  }

  /** `queryJson` with counts, parsed (tests, tools). */
  query(metrics: readonly { name: string; decimals: number }[], fromMs: number, toMs: number, step: SeriesStep): RollupAnswer {
    return JSON.parse(this.queryJson(metrics, fromMs, toMs, step, true)) as RollupAnswer;
  }

  /** One metric's non-empty buckets of `stepMs` in [lo, hi), merged from the tier's slots in time order. */
  private columns(tier: Tier, metric: string, lo: number, hi: number, stepMs: number, decimals: number) {
    const c = {
      t: [] as number[],
      min: [] as number[],
      max: [] as number[],
      avg: [] as number[],
      last: [] as number[],
      count: [] as number[],
    };
    let b = NaN;
    let [mn, mx, sum, n, last] = [0, 0, 0, 0, 0];
    const flush = () => {
      if (n === 0) return;
      c.t.push(b);
      c.min.push(mn);
      c.max.push(mx);
      c.avg.push(round(sum / n, decimals + 2));
      c.last.push(last);
      c.count.push(n);
      n = 0;
    };
    const rows = this.sql.exec(
      "SELECT start, slots FROM rollups WHERE tier = ? AND metric = ? AND start > ? AND start < ? ORDER BY start",
      tier.id,
      metric,
      lo - tier.row,
      hi,
    );
    for (const [start, blob] of rows.raw<[number, ArrayBuffer]>()) {
      const slots = new Float64Array(blob);
      for (let o = 0, t = start; o < slots.length; o += F, t += tier.slot) {
        if (slots[o + N] === 0 || t < lo || t >= hi) continue;
        const bt = t - (t % stepMs);
        if (bt !== b) {
          flush();
          b = bt;
          [mn, mx, sum, n] = [slots[o + LO]!, slots[o + HI]!, 0, 0];
        }
        if (slots[o + LO]! < mn) mn = slots[o + LO]!;
        if (slots[o + HI]! > mx) mx = slots[o + HI]!;
        sum += slots[o + SUM]!;
        n += slots[o + N]!;
        last = slots[o + LAST]!; // slots come in time order: the latest non-empty one wins
      }
    }
    flush();
    return c;
  }
}

/** Merges a sample (or another bucket) into slot `s`. Callers go in id order, so ties go to the later. */
function fold(slots: Float64Array, s: number, lo: number, hi: number, sum: number, n: number, last: number, lastTs: number): void {
  const o = s * F;
  if (slots[o + N] === 0) {
    slots.set([lo, hi, sum, n, last, lastTs], o);
    return;
  }
  if (lo < slots[o + LO]!) slots[o + LO] = lo;
  if (hi > slots[o + HI]!) slots[o + HI] = hi;
  slots[o + SUM]! += sum;
  slots[o + N]! += n;
  if (lastTs >= slots[o + LAST_TS]!) {
    slots[o + LAST] = last;
    slots[o + LAST_TS] = lastTs;
  }
}

function sameTimes(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function parse(data: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(data);
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
