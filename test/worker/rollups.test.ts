// The history buckets (durable-objects/rollups.ts) against a recomputation from the raw events
// in the log, for random streams: partial samples, out-of-order and tied timestamps, random
// batches. Then restarts (nothing lost, nothing twice), a log ahead of the buckets, and trimming
// on the sweep, with a hand-driven clock. Runs on both event logs (SQLite and Upstash).
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EVENT, SERIES_STEPS, type MetricDef, type MetricUpdate, type SeriesStep } from "../../contract/index.ts";
import type { DashboardObject } from "../../durable-objects/dashboard/dashboard.ts";
import type { LogEntry } from "../../core/rpc.ts";
import type { EventLog } from "../../durable-objects/event-log/event-log.ts";
import type { RollupAnswer, Rollups } from "../../durable-objects/history/rollups.ts";
import { readConfig, dashboardDef, type Config } from "../../core/config/index.ts";
import { env } from "cloudflare:test";
import { committed, stub } from "./helpers.ts";

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.parse("2026-12-01T12:00:00Z");

interface Inside {
  rollups: Rollups;
  log: EventLog;
  config: Config;
  appends: { lastTrimAt: number };
}
const inside = <T>(dash: string, fn: (o: Inside) => T | Promise<T>): Promise<T> =>
  runInDurableObject(stub(dash), (obj: DashboardObject) => {
    const o = obj as unknown as Omit<Inside, "rollups"> & { feed: { rollups: Rollups } };
    // The buckets sit in the object's history feed; the rest on the object itself.
    return fn(new Proxy(o, { get: (t, k) => (k === "rollups" ? t.feed.rollups : Reflect.get(t, k)) }) as unknown as Inside);
  });

const defsOf = (dash: string): MetricDef[] => dashboardDef(readConfig(env), dash).metrics;

/** Every event in the dashboard's log, in id order. */
async function rawEvents(dash: string): Promise<LogEntry[]> {
  return inside(dash, (o) => o.log.readSince(0, 1_000_000));
}

/** The buckets computed from the raw events directly: the reference. */
function recompute(events: LogEntry[], defs: MetricDef[], stepMs: number): Omit<RollupAnswer, "step"> {
  const buckets = new Map<number, Map<string, { min: number; max: number; sum: number; count: number; last: number; lastTs: number }>>();
  for (const e of events) {
    if (e.event !== EVENT.metric) continue;
    const p = JSON.parse(e.data) as MetricUpdate;
    const ts = Date.parse(p.timestamp);
    const t = Math.floor(ts / stepMs) * stepMs;
    for (const { name } of defs) {
      const v = p[name];
      if (typeof v !== "number") continue;
      const byMetric = buckets.get(t) ?? new Map();
      buckets.set(t, byMetric);
      const b = byMetric.get(name);
      if (!b) byMetric.set(name, { min: v, max: v, sum: v, count: 1, last: v, lastTs: ts });
      else {
        b.min = Math.min(b.min, v);
        b.max = Math.max(b.max, v);
        b.sum += v;
        b.count++;
        // id order: the later id wins a tie
        if (ts >= b.lastTs) {
          b.last = v;
          b.lastTs = ts;
        }
      }
    }
  }
  const t = [...buckets.keys()].sort((a, b) => a - b);
  const series: RollupAnswer["series"] = {};
  for (const { name } of defs) {
    const col = (f: (b: { min: number; max: number; sum: number; count: number; last: number }) => number) =>
      t.map((bt) => {
        const b = buckets.get(bt)!.get(name);
        return b ? f(b) : null;
      });
    series[name] = {
      min: col((b) => b.min),
      max: col((b) => b.max),
      avg: col((b) => b.sum / b.count),
      last: col((b) => b.last),
      count: col((b) => b.count),
    };
  }
  return { t, series };
}

function expectSame(actual: RollupAnswer, expected: Omit<RollupAnswer, "step">, defs: MetricDef[]): void {
  expect(actual.t).toEqual(expected.t);
  for (const { name, decimals } of defs) {
    const a = actual.series[name]!;
    const e = expected.series[name]!;
    for (const k of ["min", "max", "last", "count"] as const) expect(a[k], `${name}.${k}`).toEqual(e[k]);
    a.avg.forEach((v, i) => {
      const want = e.avg[i];
      if (want === null || want === undefined) expect(v).toBeNull();
      else expect(Math.abs(v! - want), `${name}.avg[${i}]`).toBeLessThanOrEqual(0.5 * 10 ** -(decimals + 2) + 1e-9);
    });
  }
}

/** The buckets over everything, at `stepMs`, next to the recomputation. */
async function compare(dash: string, step: SeriesStep): Promise<void> {
  const defs = defsOf(dash);
  const events = await rawEvents(dash);
  const actual = await inside(dash, (o) => o.rollups.query(defs, 0, Date.now() + DAY, step));
  expect(actual.step).toBe(step);
  expectSame(actual, recompute(events, defs, SERIES_STEPS[step]), defs);
}

/** A sample of some of `defs` (at least one) at `ts`, values at each metric's precision. */
function sampleArb(defs: MetricDef[], baseMs: number) {
  const value = (d: MetricDef) =>
    fc.integer({ min: 0, max: d.max !== undefined ? d.max * 10 ** d.decimals : 100_000 }).map((v) => v / 10 ** d.decimals);
  return fc
    .record({
      // Coarse offsets, so timestamps repeat inside a bucket (ties) and arrive out of order.
      offset: fc.integer({ min: -340, max: 30 }).map((k) => k * 10_000),
      values: fc.record(Object.fromEntries(defs.map((d) => [d.name, value(d)])), { requiredKeys: [] }),
    })
    .filter(({ values }) => Object.keys(values).length > 0)
    .map(({ offset, values }) => ({ ...values, timestamp: new Date(baseMs + offset).toISOString() }) as MetricUpdate);
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("history buckets", () => {
  it.each([
    ["r1", "the seed's five"],
    ["r5", "defined metrics, partial samples"],
  ])("equal a recomputation from the raw events (%s: %s)", async (dash) => {
    const defs = defsOf(dash);
    let now = T0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(sampleArb(defs, T0), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 }),
        async (batches) => {
          now += 20_000; // the clock moves on between runs; samples stay within the ingest window
          vi.setSystemTime(now);
          for (const samples of batches) await stub(dash).publish({ samples });
          await committed(dash);
          for (const step of ["1m", "2m", "5m", "30m", "1h", "6h"] as const) await compare(dash, step);
        },
      ),
      { numRuns: 12 },
    );
    // Alerts went into the log too (random CPU crosses its thresholds); only metric updates count.
    if (dash === "r1") expect((await rawEvents(dash)).some((e) => e.event === EVENT.alert)).toBe(true);
  });

  it("survive a restart: nothing lost, nothing counted twice", async () => {
    const dash = "r2";
    const defs = defsOf(dash);
    const samples = (n: number, from: number) =>
      Array.from({ length: n }, (_, i) => ({
        cpu: i % 97,
        memory: 50,
        rps: i,
        activeConnections: 3,
        errorRate: 0.1,
        timestamp: new Date(from + i * 7_000).toISOString(),
      }));
    await stub(dash).publish({ samples: samples(40, T0 - 30 * MIN) });
    await committed(dash);
    await abortAllDurableObjects();
    await stub(dash).publish({ samples: samples(40, T0 - 20 * MIN) });
    await committed(dash);
    await abortAllDurableObjects();
    for (const step of ["1m", "5m", "15m", "1h"] as const) await compare(dash, step);
    expect((await inside(dash, (o) => o.rollups.query(defs, 0, T0 + DAY, "1h"))).series.rps!.count).toEqual([80]);
  });

  it("roll in at start what the log has and the buckets lack (a crash between the two)", async () => {
    const dash = "r3";
    await stub(dash).publish({
      samples: [{ cpu: 1, memory: 1, rps: 1, activeConnections: 1, errorRate: 0, timestamp: new Date(T0 - MIN).toISOString() }],
    });
    await committed(dash);
    // As if the object died after the log append, before the commit reached the buckets.
    const [last] = (await rawEvents(dash)).slice(-1);
    const ms = Number(last!.id.split("-")[0]) + 1000;
    const lost: LogEntry[] = [5, 9, 2].map((v, i) => ({
      id: `${ms + i}-0`,
      event: EVENT.metric,
      data: JSON.stringify({
        cpu: v,
        memory: v,
        rps: v,
        activeConnections: v,
        errorRate: 0,
        timestamp: new Date(T0 - 2 * MIN + i).toISOString(),
      }),
    }));
    await inside(dash, (o) => o.log.append(lost));
    await abortAllDurableObjects();
    const answer = await inside(dash, (o) => o.rollups.query(defsOf(dash), T0 - 2 * MIN, T0, "1m"));
    expect(answer.t).toEqual([T0 - 2 * MIN, T0 - MIN]);
    expect(answer.series.cpu).toMatchObject({ min: [2, 1], max: [9, 1], last: [2, 1], count: [3, 1] });
    expect(await inside(dash, (o) => o.rollups.watermark)).toBe(`${ms + 2}-0`);

    // Lost tables (or a first start on an existing log): rebuilt from the whole log.
    await inside(dash, (o) => {
      const sql = (o as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
      for (const table of ["rollups", "rollup_meta"]) sql.exec(`DELETE FROM ${table}`);
    });
    await abortAllDurableObjects();
    for (const step of ["1m", "5m", "15m", "1h"] as const) await compare(dash, step);
  });

  it("catch up before the next query or commit when the log could not be read at start", async () => {
    const dash = "r6";
    await stub(dash).publish({ samples: [{ queue_depth: 4, timestamp: new Date(T0 - MIN).toISOString() }] });
    await committed(dash);
    // The state after a start with the log unreachable: the buckets lag the log.
    const ms = Number((await inside(dash, (o) => o.rollups.watermark))!.split("-")[0]) + 1000;
    await inside(dash, async (o) => {
      o.rollups.caughtUp = false;
      await o.log.append([
        { id: `${ms}-0`, event: EVENT.metric, data: JSON.stringify({ queue_depth: 8, timestamp: new Date(T0 - MIN + 1).toISOString() }) },
      ]);
    });
    const { json, complete } = await stub(dash).series({ from: T0 - HOUR, to: T0, step: "1m", metrics: ["queue_depth"] });
    expect(complete).toBe(true);
    expect(JSON.parse(json).series.queue_depth).toEqual({ min: [4], max: [8], avg: [6], last: [8] });
    // Again, and this time a commit comes first: it has the buckets catch up (on the append chain).
    await inside(dash, async (o) => {
      o.rollups.caughtUp = false;
      await o.log.append([
        { id: `${ms + 1000}-0`, event: EVENT.metric, data: JSON.stringify({ cache_hits: 0.5, timestamp: new Date(T0).toISOString() }) },
      ]);
    });
    vi.setSystemTime(T0 + 10_000); // ids above the one appended by hand
    await stub(dash).publish({ samples: [{ queue_depth: 1, timestamp: new Date(T0).toISOString() }] });
    await committed(dash);
    await inside(dash, (o) => (o as unknown as { chain: Promise<void> }).chain);
    expect(await inside(dash, (o) => o.rollups.caughtUp)).toBe(true);
    await compare(dash, "1m");
  });

  it("are trimmed on the sweep: 1-minute buckets after HISTORY_DAYS (+ 1 h), 1-hour buckets after 90 days", async () => {
    const dash = "r4";
    const defs = defsOf(dash);
    const publishAt = async (now: number) => {
      vi.setSystemTime(now);
      await inside(dash, (o) => {
        o.config = { ...o.config, historyDays: 2 };
        o.appends.lastTrimAt = 0; // a sweep is due at the next append
      });
      await stub(dash).publish({
        samples: [{ cpu: 10, memory: 10, rps: 10, activeConnections: 10, errorRate: 0, timestamp: new Date(now).toISOString() }],
      });
      await committed(dash);
    };
    const counts = (step: SeriesStep) => inside(dash, (o) => o.rollups.query(defs, T0 - DAY, T0 + 100 * DAY, step).t.length);
    await publishAt(T0);
    expect([await counts("1m"), await counts("1h")]).toEqual([1, 1]);
    await publishAt(T0 + 2 * DAY + 55 * MIN); // not yet two days (plus the hour of slack) old
    expect([await counts("1m"), await counts("1h")]).toEqual([2, 2]);
    await publishAt(T0 + 2 * DAY + 125 * MIN); // minute buckets go by the hour (one row per hour)
    expect([await counts("1m"), await counts("1h")]).toEqual([2, 3]);
    await publishAt(T0 + 91 * DAY);
    expect(await counts("1m")).toBe(1);
    const left = await inside(dash, (o) => o.rollups.query(defs, T0 - DAY, T0 + 100 * DAY, "1h").t);
    expect(left).toEqual([T0 + 2 * DAY, T0 + 2 * DAY + 2 * HOUR, T0 + 91 * DAY]);
  });
});
