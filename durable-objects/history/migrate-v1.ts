// One-time move of an object's history from the first layout (a row per metric packing an hour of
// minutes, 6 hours of 5-minute buckets or a day of hours, written on every commit) to rows that
// each hold one bucket of every metric (rollups.ts). Runs in the constructor of an object that
// still has the old table; afterwards the old table is gone.
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../../core/history.ts";
import type { Sql } from "../storage/meter.ts";
import { encodeBucket, F, foldSlot, type Bucket } from "./buckets.ts";

/** The old tiers: bucket width and the span one row packed. */
const V1 = [
  { id: 1, slot: MINUTE_MS, row: HOUR_MS },
  { id: 5, slot: 5 * MINUTE_MS, row: 6 * HOUR_MS },
  { id: 60, slot: HOUR_MS, row: DAY_MS },
] as const;

/** The watermark and derived boundaries to start from, or null when there was nothing to move. */
export function migrateRollupsV1(
  storage: DurableObjectStorage,
  sql: Sql,
  now = Date.now(),
): { through: string | null; derived: { 5: number; 60: number } } | null {
  const [table] = sql.exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'rollups'").toArray();
  if (!table || !/\bmetric\b/.test(table.sql)) return null;
  // The 5-minute and hour buckets still open now are left to be derived from the minutes.
  const derived = { 5: now - (now % (5 * MINUTE_MS)), 60: now - (now % HOUR_MS) };
  let through: string | null = null;
  storage.transactionSync(() => {
    sql.exec("ALTER TABLE rollups RENAME TO rollups_v1");
    sql.exec(`CREATE TABLE rollups (
      tier INTEGER NOT NULL, start INTEGER NOT NULL, names TEXT NOT NULL, slots BLOB NOT NULL,
      PRIMARY KEY (tier, start)) WITHOUT ROWID`);
    for (const tier of V1) {
      const before = tier.id === 1 ? Infinity : derived[tier.id];
      // A span at a time (every metric's row of it), so memory holds one span.
      const spans = sql.exec<{ start: number }>("SELECT DISTINCT start FROM rollups_v1 WHERE tier = ? ORDER BY start", tier.id).toArray();
      for (const { start } of spans) {
        const span = new Map<number, Bucket>();
        const rows = sql
          .exec("SELECT metric, slots FROM rollups_v1 WHERE tier = ? AND start = ?", tier.id, start)
          .raw<[string, ArrayBuffer]>();
        for (const [metric, blob] of [...rows]) {
          const slots = new Float64Array(blob);
          for (let o = 0, t = start; o < slots.length; o += F, t += tier.slot) {
            if (slots[o + 3] === 0) continue;
            let bucket = span.get(t);
            if (!bucket) span.set(t, (bucket = new Map()));
            foldSlot(bucket, metric, slots[o]!, slots[o + 1]!, slots[o + 2]!, slots[o + 3]!, slots[o + 4]!, slots[o + 5]!);
          }
        }
        for (const [t, bucket] of span) {
          if (t >= before) continue;
          const { names, slots } = encodeBucket(bucket);
          sql.exec("INSERT OR REPLACE INTO rollups (tier, start, names, slots) VALUES (?, ?, ?, ?)", tier.id, t, names, slots);
        }
      }
    }
    sql.exec("DROP TABLE rollups_v1");
    const [meta] = sql.exec<{ value: string }>("SELECT value FROM rollup_meta WHERE key = 'through'").toArray();
    through = meta?.value ?? null;
    sql.exec("DELETE FROM rollup_meta WHERE key = 'through'");
  });
  return { through, derived };
}
