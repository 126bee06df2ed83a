// Split metrics (`source.by`), the pure parts: the definition's checks and defaults, the mapping
// of points into one batch per series, the object's series state (the cap, staleness, the
// aggregate per direction) and the per-series alert rules. The wire is tested in split-ingest.test.ts.
import { describe, expect, it } from "vitest";
import { defineMetrics, evaluateAlerts, type AlertState, type DashboardDef, type MetricUpdate } from "../../contract/index.ts";
import { assemble } from "../../durable-objects/ingest/point-samples.ts";
import { SplitSeries, type Partial } from "../../durable-objects/ingest/split-series.ts";
import type { Point } from "../../worker/protocols/points.ts";
import { mapPoints } from "../../worker/ingest/mapping.ts";
import { simulate } from "../../core/simulation/metrics.ts";

const now = Date.parse("2026-11-30T12:00:00Z");
const dash = (metrics: unknown[]): DashboardDef => ({
  id: "x",
  name: "x",
  simulate: false,
  seed: false,
  checks: [],
  metrics: defineMetrics("x", metrics),
});
const CPU = { name: "cpu", label: "CPU", unit: "%", decimals: 1, min: 0, max: 100, warning: 80, critical: 95, source: { by: "host" } };
const pt = (name: string, value: number, attributes: Point["attributes"] = {}, timeMs = now - 1000): Point => ({
  name,
  value,
  attributes,
  timeMs,
  kind: "gauge",
});
const at = (s: number) => now - 600_000 + s * 1000;
const partial = (s: number, series: Record<string, number>, metric = "cpu"): Partial => ({
  timeMs: at(s),
  values: {},
  series: { [metric]: series },
  ref: -1,
});

describe("defining a split metric", () => {
  it("fills in maxSeries 20 and staleSeconds 120, and leaves metrics without `by` as they were", () => {
    const [cpu, plain] = defineMetrics("x", [CPU, { name: "q" }]);
    expect(cpu).toMatchObject({ maxSeries: 20, staleSeconds: 120, source: { by: "host" } });
    expect(plain).toEqual({ name: "q", label: "q", unit: "", decimals: 2, direction: "above" });
  });

  it.each([
    [{ ...CPU, maxSeries: 0 }, 'metric "cpu": maxSeries must be a whole number from 1 to 100, got 0'],
    [{ ...CPU, maxSeries: 101 }, "maxSeries must be a whole number from 1 to 100, got 101"],
    [{ ...CPU, staleSeconds: 901 }, "staleSeconds must be a whole number from 1 to 900, got 901"],
    [{ name: "q", maxSeries: 5 }, 'metric "q": maxSeries needs source.by'],
    [{ name: "q", staleSeconds: 5 }, 'metric "q": staleSeconds needs source.by'],
    [{ ...CPU, source: { by: "host", attributes: { host: "a" } } }, 'source.by "host" is also pinned in source.attributes'],
    [{ ...CPU, source: { by: "" } }, "source.by must be the name of one attribute"],
    [{ ...CPU, source: { by: "host", aggregate: "sum" } }, 'source.by with aggregate "sum" cannot keep the sum inside max 100'],
    [{ name: "series" }, '"series" is reserved'],
  ])("%j stops startup: %s", (metric, message) => {
    expect(() => defineMetrics("d", [metric])).toThrow(message);
  });
});

describe("mapping points of a split metric", () => {
  const d = dash([CPU, { name: "net", source: { name: "net", by: "if" } }]);
  const map = (points: Point[]) => mapPoints(d, points, { now, retentionSeconds: 3600 });

  it("keeps series apart by the `by` attribute's value", () => {
    const m = map([pt("cpu", 10, { host: "web-1" }), pt("cpu", 20, { host: "web-2" }), pt("cpu", 11, { host: "web-1" }, now - 500)]);
    expect(m.refused.count).toBe(0);
    expect(m.batches.map((b) => [b.series, b.value])).toEqual([
      ["web-1", [10, 11]],
      ["web-2", [20]],
    ]);
  });

  it("refuses a point without the attribute, and two series with one value unless aggregated, naming them", () => {
    const m = map([pt("cpu", 10, { region: "eu" }), pt("net", 1, { if: "eth0", dir: "rx" }), pt("net", 2, { if: "eth0", dir: "tx" })]);
    expect(m.batches).toEqual([]);
    expect(m.refused.count).toBe(3);
    expect(m.refused.reasons).toEqual([
      'metric "cpu": cpu{region=eu} has no attribute "host" to split by',
      'metric "net" series "eth0": 2 series match (net{dir=rx,if=eth0}, net{dir=tx,if=eth0}); pick one with source.attributes or combine them with source.aggregate',
    ]);
  });

  it("turns them into one sample with `series` and the aggregate (max for 'above') after the timestamp", () => {
    const m = map([pt("cpu", 43.14, { host: "web-1" }), pt("cpu", 97.21, { host: "web-2" })]);
    const done = assemble(d, m.batches, () => undefined, new SplitSeries(d));
    expect(JSON.stringify(done.samples)).toBe(
      `[{"cpu":97.2,"timestamp":"${new Date(now - 1000).toISOString()}","series":{"cpu":{"web-1":43.1,"web-2":97.2}}}]`,
    );
  });
});

describe("the object's series of a split metric", () => {
  it("aggregates the worst by default: max for 'above', min for 'below'; an explicit aggregate wins", () => {
    const below = dash([{ ...CPU, warning: 20, critical: 10, direction: "below" }]);
    const avg = dash([{ ...CPU, source: { by: "host", aggregate: "avg" } }]);
    const above = dash([CPU]);
    const values = { a: 30, b: 90, c: 60 };
    expect(new SplitSeries(above).complete([partial(0, values)]).samples[0]!.cpu).toBe(90);
    expect(new SplitSeries(below).complete([partial(0, values)]).samples[0]!.cpu).toBe(30);
    expect(new SplitSeries(avg).complete([partial(0, values)]).samples[0]!.cpu).toBe(60);
  });

  it("makes the aggregate of the series at that time and the other live series' latest values", () => {
    const split = new SplitSeries(dash([CPU]));
    const first = split.complete([partial(0, { a: 99, b: 10 })]);
    first.apply();
    const next = split.complete([partial(5, { b: 20 })]).samples[0]!;
    expect(next.cpu).toBe(99); // a still counts: it is live
    expect(next.series).toEqual({ cpu: { b: 20 } }); // only the series that reported
  });

  it("refuses the series past maxSeries by name and publishes the others; keeps nothing until apply", () => {
    const split = new SplitSeries(dash([CPU]));
    const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`web-${i + 1}`, i]));
    split.complete([partial(0, twenty)]).apply();
    const over = split.complete([partial(1, { "web-3": 50, "web-21": 99 })]);
    expect(over.refused).toEqual({
      count: 1,
      reasons: [
        'metric "cpu": series "web-21" refused: it holds 20 live series already (maxSeries); a series leaves after 120 s without points (staleSeconds)',
      ],
    });
    expect(over.samples[0]!.series).toEqual({ cpu: { "web-3": 50 } });
    expect(split.liveSeries("cpu")).toHaveLength(20);
    // Not applied: web-3's new value was not kept either.
    expect(split.complete([partial(2, { "web-1": 0 })]).samples[0]!.cpu).toBe(19);
  });

  it("lets a series that sent nothing for staleSeconds go: out of the aggregate, reported gone, its place free", () => {
    const split = new SplitSeries(dash([{ ...CPU, maxSeries: 2, staleSeconds: 60 }]));
    split.complete([partial(0, { a: 99, b: 10 })]).apply();
    const mid = split.complete([partial(59, { b: 11 })]);
    expect(mid.samples[0]!.cpu).toBe(99); // 59 s: a is still live
    expect(mid.gone).toEqual([[]]);
    mid.apply();
    const late = split.complete([partial(61, { b: 12, c: 50 })]);
    expect(late.refused.count).toBe(0); // a's place went to c
    expect(late.samples[0]!.cpu).toBe(50);
    expect(late.gone).toEqual([[{ metric: "cpu", series: "a", value: 99 }]]);
    late.apply();
    expect(split.liveSeries("cpu").sort()).toEqual(["b", "c"]);
  });

  it("relearns the live series from published samples (after a restart)", () => {
    const split = new SplitSeries(dash([CPU]));
    const t = new Date(at(0)).toISOString();
    split.rebuild([{ cpu: 99, timestamp: t, series: { cpu: { a: 99, b: 3 } } } as MetricUpdate]);
    expect(split.complete([partial(1, { b: 4 })]).samples[0]!.cpu).toBe(99);
  });
});

describe("alerts of a split metric", () => {
  const d = dash([CPU]);
  const run = (samples: MetricUpdate[], state: AlertState = {}) => {
    const alerts = [];
    for (const s of samples) {
      const r = evaluateAlerts(s, d, state);
      state = r.state;
      alerts.push(...r.alerts);
    }
    return { alerts, state };
  };
  const sample = (s: number, cpu: number, series: Record<string, number>): MetricUpdate => ({
    cpu,
    timestamp: new Date(at(s)).toISOString(),
    series: { cpu: series },
  });

  it("raises and resolves per series, naming it; the aggregate raises nothing of its own", () => {
    const { alerts, state } = run([
      sample(0, 99, { "web-1": 40, "web-3": 99 }),
      sample(1, 99, { "web-3": 99 }),
      sample(2, 70, { "web-3": 70 }),
    ]);
    expect(alerts).toEqual([
      {
        level: "critical",
        metric: "cpu",
        series: "web-3",
        value: 99,
        threshold: 95,
        direction: "above",
        message: "CPU on web-3 is 99.0%, above critical 95%",
        timestamp: new Date(at(0)).toISOString(),
      },
      {
        level: "resolved",
        metric: "cpu",
        series: "web-3",
        value: 70,
        threshold: 80,
        direction: "above",
        message: "CPU on web-3 back to normal at 70.0% (below 80%)",
        timestamp: new Date(at(2)).toISOString(),
      },
    ]);
    expect(state).toEqual({});
  });

  it("keeps hysteresis per series: one series hovering does not move another", () => {
    // Hysteresis 1.5 (a tenth of 95 − 80): web-1 at 79 stays warning; web-2 at 79 was never raised.
    const { alerts, state } = run([sample(0, 81, { "web-1": 81 }), sample(1, 79, { "web-1": 79, "web-2": 79 })]);
    expect(alerts.map((a) => [a.series, a.level])).toEqual([["web-1", "warning"]]);
    expect(state).toEqual({ "cpu|web-1": "warning" });
  });

  it("clears a stale series' level with a resolved alert that says there is no data", () => {
    const r = evaluateAlerts(sample(200, 10, { "web-1": 10 }), d, { "cpu|web-3": "critical" }, [
      { metric: "cpu", series: "web-3", value: 99 },
    ]);
    expect(r.state).toEqual({});
    expect(r.alerts).toEqual([
      expect.objectContaining({
        level: "resolved",
        series: "web-3",
        value: 99,
        message: "CPU on web-3: no data for 120 s, alert cleared (last 99.0%)",
      }),
    ]);
  });
});

describe("a simulated dashboard's split metric", () => {
  it("gets three series, sim-1…sim-3, and their aggregate as its own value", () => {
    const d = { ...dash([CPU, { name: "q" }]), simulate: true };
    for (let s = 0; s < 600; s += 37) {
      const sample = simulate("42", d, at(s));
      expect(Object.keys(sample)).toEqual(["cpu", "q", "timestamp", "series"]);
      const series = sample.series!.cpu!;
      expect(Object.keys(series)).toEqual(["sim-1", "sim-2", "sim-3"]);
      expect(sample.cpu).toBe(Math.max(...Object.values(series)));
    }
  });
});
