// A split metric in the page's state (useLiveValues): each series' rolling line, the live series
// the worst first, a series silent for its staleSeconds out of the view, and the worst one named
// for the card; and the series' colours, a hash of each name into the palette.
import { describe, expect, it } from "vitest";
import { defineMetrics, type MetricDef, type MetricUpdate } from "../../contract/index.ts";
import { useLiveValues } from "../../web/src/composables/useLiveValues.ts";
import { seriesSlots } from "../../web/src/lib/series-colours.ts";

const [cpu, free] = defineMetrics("t", [
  { name: "cpu", unit: "%", decimals: 1, warning: 80, critical: 95, source: { by: "host" } },
  {
    name: "free",
    unit: "GB",
    decimals: 1,
    warning: 20,
    critical: 10,
    direction: "below",
    maxSeries: 2,
    staleSeconds: 60,
    source: { by: "mount" },
  },
]) as [MetricDef, MetricDef];
const T0 = Date.parse("2026-12-01T12:00:00Z");
const sample = (s: number, series: Record<string, Record<string, number>>, values: Record<string, number>): MetricUpdate => ({
  ...values,
  timestamp: new Date(T0 + s * 1000).toISOString(),
  series,
});
const frame = () => new Promise((r) => setTimeout(r, 80)); // no requestAnimationFrame here: onceAFrame's timer

describe("split metrics in the page", () => {
  it("keeps a line per series, lists the live ones worst first, and names the worst for the card", async () => {
    const live = useLiveValues();
    live.metric(sample(0, { cpu: { a: 40, b: 97, c: 60 } }, { cpu: 97 }), [cpu, free]);
    live.metric(sample(5, { cpu: { a: 41 } }, { cpu: 97 }), [cpu, free]);
    expect(live.seriesOf("cpu|a").v).toEqual([40, 41]);
    expect(live.liveSeries(cpu)).toEqual(["b", "c", "a"]);
    await frame();
    expect(live.worst.value).toEqual({ cpu: "b" });
  });

  it("drops a series silent for staleSeconds from the view; for 'below' the worst is the lowest", async () => {
    const live = useLiveValues();
    live.metric(sample(0, { free: { "/": 50, "/data": 8 } }, { free: 8 }), [cpu, free]);
    expect(live.liveSeries(free)).toEqual(["/data", "/"]);
    live.metric(sample(61, { free: { "/": 45 } }, { free: 45 }), [cpu, free]);
    expect(live.liveSeries(free)).toEqual(["/"]);
    await frame();
    expect(live.worst.value).toEqual({ free: "/" });
  });

  it("holds at most maxSeries live series, and at most twice that in memory", () => {
    const live = useLiveValues();
    for (let i = 0; i < 6; i++) live.metric(sample(i, { free: { [`/m${i}`]: 30 + i } }, { free: 30 }), [cpu, free]);
    // The two heard from longest ago are gone from memory (their lines too): four held, 2 × maxSeries; the lowest two live.
    expect(live.liveSeries(free)).toEqual(["/m2", "/m3"]);
    expect(live.seriesOf("free|/m0").length).toBe(0);
    expect(live.seriesOf("free|/m5").length).toBe(1);
  });

  it("colours: a slot per name, distinct up to the palette's size, whatever the order the names come in", () => {
    const names = Array.from({ length: 12 }, (_, i) => `web-${i + 1}`);
    const slots = seriesSlots(names, 12);
    expect(new Set(slots.values()).size).toBe(12);
    expect(seriesSlots([...names].reverse(), 12)).toEqual(slots);
    expect(seriesSlots(["web-3"], 12).get("web-3")).toBe(seriesSlots(["web-3"], 12).get("web-3"));
  });
});
