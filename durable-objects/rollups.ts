// Downsampled history: per metric, 1-minute buckets (kept HISTORY_DAYS) and 1-hour buckets (kept
// SERIES_MAX_DAYS) of min, max, sum, count and last, in the dashboard object's own SQLite storage
// whatever the event log's backend. Built incrementally from committed events; a persisted
// watermark ("rolled up through event id"), written in the same transaction as the buckets,
// says where to pick up from the log after a restart, so no event is counted twice or lost.
import { compareEventIds, EVENT, formatEventId, parseEventId, round, SERIES_MAX_DAYS, type EventId, type SeriesColumns } from "../contract/index.ts";
import type { EventLog, LogEntry } from "./event-log.ts";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const LOG_PAGE = 1000;

/** A stored tier: its table and bucket width. Coarser answers merge whole buckets of one. */
const TIERS = [
  { table: "rollup_1m", ms: MINUTE },
  { table: "rollup_1h", ms: HOUR },
] as const;

/** What `add` needs of an event: committed entries, log entries and bench entries all fit. */
export interface RollupInput extends LogEntry {
  key?: EventId;
  payload?: Record<string, unknown>;
}

interface Agg {
  lo: number;
  hi: number;
  total: number;
  n: number;
  last: number;
  lastTs: number;
}

/** Columns of one metric, with `count` (the HTTP answer leaves it out; tests and tools use it). */
export type RollupColumns = SeriesColumns & { count: (number | null)[] };

export interface RollupAnswer {
  t: number[];
  series: Record<string, RollupColumns>;
}

export class Rollups {
  /** False until everything in the log after the watermark is rolled in (see catchUp). */
  caughtUp = false;
  private through: EventId | null = null;
  private readonly metricIds = new Map<string, number>();
  private readonly sql: SqlStorage;

  constructor(
    private readonly storage: DurableObjectStorage,
    /** HISTORY_DAYS, read at every trim (the configuration may change). */
    private readonly historyDays: () => number,
  ) {
    const sql = (this.sql = storage.sql);
    sql.exec("CREATE TABLE IF NOT EXISTS rollup_metrics (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
    sql.exec("CREATE TABLE IF NOT EXISTS rollup_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    // Metric first in the key: a query reads one contiguous range per metric.
    for (const { table } of TIERS) {
      sql.exec(`CREATE TABLE IF NOT EXISTS ${table} (
        metric INTEGER NOT NULL, t INTEGER NOT NULL, lo REAL NOT NULL, hi REAL NOT NULL, total REAL NOT NULL,
        n INTEGER NOT NULL, last REAL NOT NULL, last_ts INTEGER NOT NULL, PRIMARY KEY (metric, t)) WITHOUT ROWID`);
    }
    for (const r of sql.exec<{ id: number; name: string }>("SELECT id, name FROM rollup_metrics")) this.metricIds.set(r.name, r.id);
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
    // Merge the batch in memory first: one upsert per touched bucket, not one per sample.
    const tiers = TIERS.map(() => new Map<string, Map<number, Agg>>());
    for (let i = start; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.event !== EVENT.metric) continue;
      const payload = e.payload ?? parse(e.data);
      const ts = typeof payload?.timestamp === "string" ? Date.parse(payload.timestamp) : NaN;
      if (!Number.isFinite(ts)) continue;
      for (const name in payload) {
        const v = payload[name];
        if (name === "timestamp" || typeof v !== "number" || !Number.isFinite(v)) continue;
        for (let k = 0; k < TIERS.length; k++) {
          let buckets = tiers[k]!.get(name);
          if (!buckets) tiers[k]!.set(name, (buckets = new Map()));
          const t = ts - (ts % TIERS[k]!.ms);
          const a = buckets.get(t);
          if (!a) buckets.set(t, { lo: v, hi: v, total: v, n: 1, last: v, lastTs: ts });
          else {
            if (v < a.lo) a.lo = v;
            if (v > a.hi) a.hi = v;
            a.total += v;
            a.n++;
            // Entries come in id order: on equal timestamps the later id wins.
            if (ts >= a.lastTs) (a.last = v), (a.lastTs = ts);
          }
        }
      }
    }
    const through = keyOf(entries[entries.length - 1]!);
    // Buckets and watermark in one transaction: after a crash, either both or neither.
    this.storage.transactionSync(() => {
      tiers.forEach((byMetric, k) => {
        // The stored bucket holds only older ids, so on equal timestamps the batch's value wins.
        const upsert = `INSERT INTO ${TIERS[k]!.table} (metric, t, lo, hi, total, n, last, last_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (metric, t) DO UPDATE SET lo = min(lo, excluded.lo), hi = max(hi, excluded.hi),
          total = total + excluded.total, n = n + excluded.n,
          last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END, last_ts = max(last_ts, excluded.last_ts)`;
        for (const [name, buckets] of byMetric) {
          const id = this.metricId(name);
          for (const [t, a] of buckets) this.sql.exec(upsert, id, t, a.lo, a.hi, a.total, a.n, a.last, a.lastTs);
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

  /** Drops buckets wholly older than their tier's retention (run on the object's sweep). */
  trim(now: number): void {
    const cutoffs = [now - this.historyDays() * DAY, now - SERIES_MAX_DAYS * DAY];
    for (const id of this.metricIds.values()) {
      TIERS.forEach(({ table, ms }, k) => this.sql.exec(`DELETE FROM ${table} WHERE metric = ? AND t < ?`, id, cutoffs[k]! - ms));
    }
  }

  /**
   * Buckets of width `stepMs` (a multiple of 1 minute or 1 hour, epoch-aligned) that overlap
   * [fromMs, toMs]. `t` lists the buckets where any of the metrics has data; a metric without
   * data in one of them gets null there. `avg` is rounded to two places past the metric's own.
   */
  query(metrics: readonly { name: string; decimals: number }[], fromMs: number, toMs: number, stepMs: number): RollupAnswer {
    const tier = stepMs % HOUR === 0 ? TIERS[1] : TIERS[0];
    const lo = Math.floor(fromMs / stepMs) * stepMs;
    const hi = (Math.floor(toMs / stepMs) + 1) * stepMs;
    // A step of the tier's own width reads its rows; a coarser one merges them in SQLite. The
    // merged `last` is the last of the group's latest bucket (a later bucket holds later samples).
    const sql =
      stepMs === tier.ms
        ? `SELECT t, lo, hi, total, n, last FROM ${tier.table} WHERE metric = ?1 AND t >= ?2 AND t < ?3 ORDER BY t`
        : `SELECT g.b, g.lo, g.hi, g.total, g.n, r.last FROM (
             SELECT t / CAST(?4 AS INTEGER) * CAST(?4 AS INTEGER) AS b, min(lo) AS lo, max(hi) AS hi, sum(total) AS total, sum(n) AS n, max(t) AS lt
             FROM ${tier.table} WHERE metric = ?1 AND t >= ?2 AND t < ?3 GROUP BY b) g
           JOIN ${tier.table} r ON r.metric = ?1 AND r.t = g.lt ORDER BY g.b`;
    type Row = [number, number, number, number, number, number];
    const rows = metrics.map(({ name }) => {
      const id = this.metricIds.get(name);
      if (id === undefined) return [] as Row[];
      return [...this.sql.exec(sql, id, lo, hi, ...(stepMs === tier.ms ? [] : [stepMs])).raw<Row>()];
    });
    // The union of the metrics' buckets; usually they share them all, so this is cheap.
    const times = [...new Set(rows.flatMap((r) => r.map((row) => row[0])))].sort((a, b) => a - b);
    const index = new Map(times.map((t, i) => [t, i]));
    const series: Record<string, RollupColumns> = {};
    metrics.forEach(({ name, decimals }, m) => {
      const col = (): (number | null)[] => new Array<number | null>(times.length).fill(null);
      const c: RollupColumns = { min: col(), max: col(), avg: col(), last: col(), count: col() };
      for (const [t, min, max, total, n, last] of rows[m]!) {
        const i = index.get(t)!;
        c.min[i] = min;
        c.max[i] = max;
        c.avg[i] = round(total / n, decimals + 2);
        c.last[i] = last;
        c.count[i] = n;
      }
      series[name] = c;
    });
    return { t: times, series };
  }

  private metricId(name: string): number {
    let id = this.metricIds.get(name);
    if (id === undefined) {
      id = this.sql.exec<{ id: number }>("INSERT INTO rollup_metrics (name) VALUES (?) RETURNING id", name).one().id;
      this.metricIds.set(name, id);
    }
    return id;
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
