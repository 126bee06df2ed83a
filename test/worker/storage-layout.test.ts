// An object written by the first storage layout (a row per event; history rows per metric,
// packing an hour of minutes, 6 hours of 5-minute buckets or a day of hours) is moved to the
// current one when it starts, keeping every event and every bucket.
import { abortAllDurableObjects, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import type { EventLog } from "../../durable-objects/event-log/event-log.ts";
import type { Rollups } from "../../durable-objects/history/rollups.ts";
import { DEFAULT_METRICS } from "../../contract/index.ts";

const MIN = 60_000;
const HOUR = 3_600_000;

interface Inside {
  log: EventLog;
  feed: { rollups: Rollups };
}

describe("the first storage layout", () => {
  it("is moved at start: every event and every history bucket kept, the old tables gone", async () => {
    const target = () => env.DASHBOARD.getByName("layout-v1");
    const now = Date.now();
    const hour = now - (now % HOUR) - 2 * HOUR; // two hours ago, hour-aligned
    const events = Array.from({ length: 30 }, (_, i) => ({ ms: now - 30_000 + i * 1000, seq: 0 }));
    await runInDurableObject(target(), (_obj: DashboardObject, state) => {
      const sql = state.storage.sql;
      // As the first layout left it.
      sql.exec("DROP TABLE event_chunks");
      sql.exec(
        "CREATE TABLE events (ms INTEGER NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (ms, seq)) WITHOUT ROWID",
      );
      for (const { ms, seq } of events) {
        const data = JSON.stringify({
          cpu: 1,
          memory: 1,
          rps: 1,
          activeConnections: 1,
          errorRate: 0,
          timestamp: new Date(ms).toISOString(),
        });
        sql.exec("INSERT INTO events VALUES (?, ?, 'metric-update', ?)", ms, seq, data);
      }
      sql.exec("DROP TABLE rollups");
      sql.exec("CREATE TABLE rollups (tier INTEGER NOT NULL, metric TEXT NOT NULL, start INTEGER NOT NULL, slots BLOB NOT NULL)");
      sql.exec("CREATE UNIQUE INDEX rollups_key ON rollups (tier, metric, start)");
      // cpu: minutes 0 and 59 of the hour (two samples each), and the hour itself.
      const minutes = new Float64Array(60 * 6);
      minutes.set([10, 20, 30, 2, 20, hour + 30_000], 0);
      minutes.set([5, 7, 12, 2, 7, hour + 59 * MIN + 1], 59 * 6);
      sql.exec("INSERT INTO rollups VALUES (1, 'cpu', ?, ?)", hour, minutes.buffer);
      const fives = new Float64Array(72 * 6);
      const six = hour - (hour % (6 * HOUR));
      fives.set([10, 20, 30, 2, 20, hour + 30_000], ((hour - six) / (5 * MIN)) * 6);
      fives.set([5, 7, 12, 2, 7, hour + 59 * MIN + 1], ((hour + 55 * MIN - six) / (5 * MIN)) * 6);
      sql.exec("INSERT INTO rollups VALUES (5, 'cpu', ?, ?)", six, fives.buffer);
      const hours = new Float64Array(24 * 6);
      const day = hour - (hour % (24 * HOUR));
      hours.set([5, 20, 42, 4, 7, hour + 59 * MIN + 1], ((hour - day) / HOUR) * 6);
      sql.exec("INSERT INTO rollups VALUES (60, 'cpu', ?, ?)", day, hours.buffer);
      sql.exec("DELETE FROM rollup_meta");
      sql.exec("INSERT INTO rollup_meta VALUES ('through', ?)", `${events.at(-1)!.ms}-0`);
    });
    await abortAllDurableObjects();

    await runInDurableObject(target(), async (obj: DashboardObject, state) => {
      const o = obj as unknown as Inside;
      const logged = await o.log.readAfter("0-0", 1000);
      expect(logged.map((e) => e.id)).toEqual(events.map((e) => `${e.ms}-0`));
      const cpu = [{ name: "cpu", decimals: DEFAULT_METRICS[0]!.decimals }];
      expect(o.feed.rollups.query(cpu, hour, hour + HOUR - 1, "1m").series.cpu).toEqual({
        min: [10, 5],
        max: [20, 7],
        avg: [15, 6],
        last: [20, 7],
        count: [2, 2],
      });
      expect(o.feed.rollups.query(cpu, hour, hour + HOUR - 1, "1h").series.cpu).toMatchObject({
        min: [5],
        max: [20],
        count: [4],
        last: [7],
      });
      expect(o.feed.rollups.query(cpu, hour, hour + HOUR - 1, "5m").series.cpu).toMatchObject({ count: [2, 2], last: [20, 7] });
      const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray();
      expect(tables.map((t) => t.name)).not.toContain("events");
      expect(tables.map((t) => t.name)).not.toContain("rollups_v1");
    });
  });
});
