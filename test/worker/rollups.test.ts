// The history buckets (durable-objects/rollups.ts) against a recomputation from the raw events
// in the log, for random streams: partial samples, out-of-order and tied timestamps, random
// batches. Then restarts (nothing lost, nothing twice), a log ahead of the buckets, and trimming
// on the sweep, with a hand-driven clock. Runs on both event logs (SQLite and Upstash).
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EVENT, isSplit, SERIES_STEPS, splitKey, type MetricDef, type MetricUpdate, type SeriesStep } from "../../contract/index.ts";
import { answerMetric } from "../../durable-objects/history/rollup-answer.ts";
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
    // A split metric's series are columns of their own, `metric|series`.
    const columns: [string, unknown][] = defs.map(({ name }) => [name, p[name]]);
    for (const metric in p.series ?? {}) for (const [s, v] of Object.entries(p.series![metric]!)) columns.push([splitKey(metric, s), v]);
    for (const [name, v] of columns) {
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
  // Buckets where only a series has data (never: its aggregate is in the same sample) would still count in `t`.
  const t = [...buckets.keys()].filter((bt) => defs.some(({ name }) => buckets.get(bt)!.has(name))).sort((a, b) => a - b);
  const columnsOf = (name: string) => {
    const col = (f: (b: { min: number; max: number; sum: number; count: number; last: number }) => number) =>
      t.map((bt) => {
        const b = buckets.get(bt)!.get(name);
        return b ? f(b) : null;
      });
    return {
      min: col((b) => b.min),
      max: col((b) => b.max),
      avg: col((b) => b.sum / b.count),
      last: col((b) => b.last),
      count: col((b) => b.count),
    };
  };
  const series: RollupAnswer["series"] = {};
  for (const def of defs) {
    series[def.name] = columnsOf(def.name);
    if (!isSplit(def)) continue;
    // Every series seen, the worst first (max for "above", min for "below"; ties by name), at most maxSeries.
    const names = new Set<string>();
    for (const byMetric of buckets.values())
      for (const key of byMetric.keys()) if (key.startsWith(`${def.name}|`)) names.add(key.slice(def.name.length + 1));
    const worst = (s: string) => {
      const all = [...buckets.values()].map((b) => b.get(splitKey(def.name, s))).filter((b) => b !== undefined);
      return def.direction === "below" ? -Math.min(...all.map((b) => b.min)) : Math.max(...all.map((b) => b.max));
    };
    const ranked = [...names].sort((a, b) => worst(b) - worst(a) || (a < b ? -1 : 1)).slice(0, def.maxSeries);
    series[def.name]!.by = Object.fromEntries(ranked.map((s) => [s, columnsOf(splitKey(def.name, s))]));
  }
  return { t, series };
}

function expectSame(actual: RollupAnswer, expected: Omit<RollupAnswer, "step">, defs: MetricDef[]): void {
  expect(actual.t).toEqual(expected.t);
  type Cols = Omit<RollupAnswer["series"][string], "by">;
  const same = (a: Cols, e: Cols, name: string, decimals: number) => {
    for (const k of ["min", "max", "last", "count"] as const) expect(a[k], `${name}.${k}`).toEqual(e[k]);
    a.avg.forEach((v, i) => {
      const want = e.avg[i];
      if (want === null || want === undefined) expect(v).toBeNull();
      else expect(Math.abs(v! - want), `${name}.avg[${i}]`).toBeLessThanOrEqual(0.5 * 10 ** -(decimals + 2) + 1e-9);
    });
  };
  for (const { name, decimals } of defs) {
    const a = actual.series[name]!;
    const e = expected.series[name]!;
    same(a, e, name, decimals);
    // Per-series columns: the same series, in the same order (the worst first), with the same columns.
    expect(Object.keys(a.by ?? {}), `${name}.by`).toEqual(Object.keys(e.by ?? {}));
    for (const s in e.by ?? {}) same(a.by![s]!, e.by![s]!, `${name}.by.${s}`, decimals);
  }
}

/** The buckets over everything, at `stepMs`, next to the recomputation. */
async function compare(dash: string, step: SeriesStep): Promise<void> {
  const defs = defsOf(dash);
  const events = await rawEvents(dash);
  const actual = await inside(dash, (o) => o.rollups.query(defs.map(answerMetric), 0, Date.now() + DAY, step));
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

/** A JSON sample of dashboard r9 (as core/ingest/samples.ts parses it): series of cpu and free, maybe queue_depth. */
function splitSampleArb(baseMs: number) {
  const value = (max: number, decimals: number) => fc.integer({ min: 0, max: max * 10 ** decimals }).map((v) => v / 10 ** decimals);
  return fc
    .record({
      offset: fc.integer({ min: -340, max: 30 }).map((k) => k * 10_000),
      // Five hosts for a cap of four: some requests are refused whole, and a range sees more series than the answer holds.
      cpu: fc.dictionary(fc.constantFrom("a", "b", "c", "d", "e"), value(100, 1), { maxKeys: 3 }),
      free: fc.dictionary(fc.constantFrom("/", "/data", "/tmp"), value(500, 2), { maxKeys: 2 }),
      queue_depth: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
    })
    .filter((s) => Object.keys(s.cpu).length + Object.keys(s.free).length > 0 || s.queue_depth !== undefined)
    .map(({ offset, cpu, free, queue_depth }) => {
      const series: Record<string, Record<string, number>> = {};
      if (Object.keys(cpu).length > 0) series.cpu = { ...cpu }; // fast-check's dictionaries have no prototype: RPC cannot send them
      if (Object.keys(free).length > 0) series.free = { ...free };
      return {
        ...(queue_depth === undefined ? {} : { queue_depth }),
        timestamp: new Date(baseMs + offset).toISOString(),
        ...(Object.keys(series).length > 0 ? { series } : {}),
      } as MetricUpdate;
    });
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

  it("keep a split metric's series as columns of the same rows, equal to a recomputation from the raw events (r9)", async () => {
    const dash = "r9";
    const defs = defsOf(dash);
    let now = T0;
    let published = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(splitSampleArb(T0), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 }),
        async (batches) => {
          now += 20_000;
          vi.setSystemTime(now);
          // The JSON ingest path: the object makes each split metric's own value from its live series.
          for (const samples of batches) {
            const result = await stub(dash).ingestSamples({ samples, points: 1 });
            if ("ids" in result) published += result.ids.length;
          }
          await committed(dash);
          for (const step of ["1m", "2m", "5m", "30m", "1h", "6h"] as const) await compare(dash, step);
        },
      ),
      { numRuns: 12 },
    );
    expect(published).toBeGreaterThan(0);
    // The answer holds at most maxSeries (4) of the five hosts seen.
    const answer = await inside(dash, (o) => o.rollups.query(defs.map(answerMetric), 0, Date.now() + DAY, "6h"));
    expect(Object.keys(answer.series.cpu!.by!).length).toBe(4);
    // One row per minute whatever the series: no more rows than minutes with samples (the newest still in memory).
    const minutes = (await inside(dash, (o) => o.rollups.query(defs.map(answerMetric), 0, Date.now() + DAY, "1m"))).t.length;
    const rows = await inside(dash, (o) => {
      const sql = (o as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
      return sql.exec<{ n: number }>("SELECT count(*) AS n FROM rollups WHERE tier = 1").one().n;
    });
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThanOrEqual(minutes);
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
