// The pure parts of OTLP / line-protocol ingest: which series feeds which metric, and counter rates.
import { describe, expect, it } from "vitest";
import { defineMetrics, type DashboardDef } from "../../contract/index.ts";
import { counterRates } from "../../durable-objects/ingest/counter-rates.ts";
import { assemble } from "../../durable-objects/ingest/point-samples.ts";
import { SplitSeries } from "../../durable-objects/ingest/split-series.ts";
import type { Point } from "../../worker/protocols/points.ts";
import type { SeriesBatch } from "../../core/ingest/batches.ts";
import { mapPoints, seriesKey } from "../../worker/ingest/mapping.ts";

const now = Date.parse("2026-11-30T12:00:00Z");
const dash = (metrics: unknown[]): DashboardDef => ({
  id: "x",
  name: "x",
  simulate: false,
  seed: false,
  checks: [],
  metrics: defineMetrics("x", metrics),
});
const pt = (name: string, value: number, attributes: Point["attributes"] = {}, timeMs = now - 1000): Point => ({
  name,
  value,
  attributes,
  timeMs,
  kind: "gauge",
});
const map = (d: DashboardDef, points: Point[]) => mapPoints(d, points, { now, retentionSeconds: 3600 });

describe("series mapping", () => {
  it("series identity is name + sorted attributes; filters compare as text", () => {
    expect(seriesKey("m", { b: 1, a: "x" })).toBe("m{a=x,b=1}");
    const d = dash([{ name: "c", source: { name: "cpu", attributes: { core: 1, busy: true } } }]);
    const m = map(d, [pt("cpu", 5, { core: "1", busy: "true" }), pt("cpu", 6, { core: 2, busy: true })]);
    expect(m.batches.map((b) => [b.metric, b.value])).toEqual([["c", [5]]]);
    expect(m.unmatched).toEqual({ count: 1, names: ["cpu"] });
  });

  it("without a source, the metric's own name; one point may feed several metrics", () => {
    const d = dash([{ name: "q" }, { name: "q_pct", source: { name: "q", scale: 100 } }]);
    const m = map(d, [pt("q", 0.5)]);
    expect(m.accepted).toBe(1);
    expect(assemble(d, m.batches, () => undefined, new SplitSeries(d)).samples).toEqual([
      { q: 0.5, q_pct: 50, timestamp: new Date(now - 1000).toISOString() },
    ]);
  });

  it("several series for one metric: refused and named, unless aggregated", () => {
    const points = [pt("net", 1, { if: "eth0" }), pt("net", 3, { if: "lo" })];
    const plain = map(dash([{ name: "net" }]), points);
    expect(plain.batches).toEqual([]);
    expect(plain.refused).toMatchObject({
      count: 2,
      reasons: [expect.stringContaining('metric "net": 2 series match (net{if=eth0}, net{if=lo})')],
    });
    for (const [aggregate, value] of [
      ["sum", 4],
      ["avg", 2],
      ["min", 1],
      ["max", 3],
    ] as const) {
      const d = dash([{ name: "net", source: { aggregate } }]);
      expect(assemble(d, map(d, points).batches, () => undefined, new SplitSeries(d)).samples[0]).toMatchObject({ net: value });
    }
  });

  it("source.rate: true makes any series a counter, false shows a counter as it is; absent, the protocol says", () => {
    const d = dash([
      { name: "gauge_as_is", source: { name: "bytes" } },
      { name: "gauge_rate", source: { name: "bytes", rate: true } },
      { name: "sum_rate", source: { name: "reqs" } },
      { name: "sum_as_is", source: { name: "reqs", rate: false } },
      { name: "delta_rate", source: { name: "delta", rate: true } },
      { name: "bare_sum", source: { name: "bare", rate: true } },
    ]);
    const sum = (name: string, temporality?: "cumulative" | "delta"): Point => ({
      ...pt(name, 1),
      kind: "sum",
      monotonic: true,
      ...(temporality ? { temporality } : {}),
    });
    const m = map(d, [pt("bytes", 1), sum("reqs", "cumulative"), sum("delta", "delta"), sum("bare")]);
    expect(Object.fromEntries(m.batches.map((b) => [b.metric, b.kind]))).toEqual({
      gauge_as_is: "gauge",
      gauge_rate: "cumulative",
      sum_rate: "cumulative",
      sum_as_is: "gauge",
      delta_rate: "delta",
    });
    expect(m.refused.reasons).toEqual(['"bare": monotonic sum without aggregation temporality']);
  });

  it("points outside the window are refused; points without a time get now", () => {
    const d = dash([{ name: "g" }]);
    const m = map(d, [pt("g", 1, {}, now - 7200_000), pt("g", 2, {}, now + 600_000), { ...pt("g", 3), timeMs: undefined }]);
    expect(m.refused.count).toBe(2);
    expect(m.batches[0]!.timeMs).toEqual([now]);
  });
});

describe("counter rates", () => {
  const batch = (kind: "cumulative" | "delta", pts: [number, number, number?][]): SeriesBatch => ({
    metric: "r",
    key: "k",
    kind,
    timeMs: pts.map((p) => p[0]),
    value: pts.map((p) => p[1]),
    startMs: pts.map((p) => p[2] ?? NaN),
    ref: pts.map(() => -1),
  });
  it("cumulative: first point is a baseline, then the slope; a drop or new start is a reset, never negative", () => {
    const r = counterRates(
      batch("cumulative", [
        [1000, 10],
        [3000, 30],
        [4000, 5],
        [5000, 15],
        [5000, 99],
      ]),
      undefined,
    );
    expect(r.values).toEqual([undefined, 10, undefined, 10, undefined]);
    expect(r.next).toEqual({ t: 5000, v: 15, s: 0 });
    expect(counterRates(batch("cumulative", [[7000, 35]]), r.next).values).toEqual([10]);
    expect(counterRates(batch("cumulative", [[7000, 35, 6000]]), { t: 5000, v: 15, s: 100 }).values).toEqual([undefined]);
  });
  it("delta: value over its own interval; negative is refused", () => {
    expect(
      counterRates(
        batch("delta", [
          [3000, 20, 1000],
          [4000, 5],
          [5000, -1, 4000],
        ]),
        undefined,
      ).values,
    ).toEqual([10, 5, expect.stringContaining("negative")]);
  });
});
