// The client's presentation rules over a dashboard's definition: selection from the address
// bar, levels (direction, hysteresis), formatting with units and decimals, chart y ranges, and
// the line breaks of a metric's own series. Definitions come from the contract's own parser, so
// these are the shapes the Worker serves.
import { describe, expect, it } from "vitest";
import { defineMetrics, DEFAULT_METRICS, type MetricDef } from "../../contract/index.ts";
import { formatThreshold, formatValue, formatWithUnit, levelOf, selectMetrics, thresholdsText } from "../../web/src/lib/metrics.ts";
import { yRange } from "../../web/src/lib/plot.ts";
import { RollingSeries } from "../../web/src/lib/series.ts";

const [orders, latency, payment, queue, hits] = defineMetrics("t", [
  { name: "orders_per_min", label: "Orders/min", unit: "orders", decimals: 0, min: 0, warning: 40, critical: 20, direction: "below" },
  { name: "p95_latency_ms", label: "p95 latency", unit: "ms", decimals: 0, min: 0, warning: 400, critical: 800 },
  {
    name: "payment_success_ratio",
    label: "Payment success",
    unit: "%",
    decimals: 2,
    min: 0,
    max: 100,
    warning: 98,
    critical: 95,
    direction: "below",
    hysteresis: 0.5,
  },
  { name: "queue_depth", label: "Queue depth", unit: "jobs", decimals: 0, min: 0, warning: 100, critical: 500 },
  { name: "cache_hits", label: "Cache hits", decimals: 3, min: 0 },
]) as [MetricDef, MetricDef, MetricDef, MetricDef, MetricDef];
const all = [orders, latency, payment, queue, hits];
const seed = (name: string) => DEFAULT_METRICS.find((m) => m.name === name)!;

describe("selectMetrics", () => {
  it("keeps the definition's order and drops names it does not define; none left means all", () => {
    expect(selectMetrics(all, ["queue_depth", "cpu", "orders_per_min"]).map((m) => m.name)).toEqual(["orders_per_min", "queue_depth"]);
    expect(selectMetrics(all, ["cpu"])).toEqual(all);
    expect(selectMetrics(all, [])).toEqual(all);
  });
});

describe("levelOf", () => {
  it("reads a `below` metric the right way round, with hysteresis on the way back", () => {
    expect(levelOf(orders, 60)).toBe("ok");
    expect(levelOf(orders, 40)).toBe("warning");
    expect(levelOf(orders, 12)).toBe("critical");
    // Default hysteresis: a tenth of the warning–critical distance (2).
    expect(levelOf(orders, 21.5, "critical")).toBe("critical");
    expect(levelOf(orders, 22.5, "critical")).toBe("warning");
    expect(levelOf(orders, 41.5, "warning")).toBe("warning");
    expect(levelOf(orders, 42.5, "warning")).toBe("ok");
    expect(levelOf(orders, undefined, "critical")).toBe("critical"); // no value in this sample: as it was
    expect(levelOf(hits, 1e9)).toBe("ok");
  });

  it("reads an `above` metric as before: high is bad", () => {
    expect(levelOf(seed("cpu"), 91)).toBe("critical");
    expect(levelOf(seed("cpu"), 85)).toBe("warning");
    expect(levelOf(seed("cpu"), 50)).toBe("ok");
  });
});

describe("formatting", () => {
  it("shows the definition's decimals and unit, the way the server's messages write units", () => {
    expect(formatValue(payment, 99.5)).toBe("99.50");
    expect(formatWithUnit(payment, 97.2)).toBe("97.20%");
    expect(formatWithUnit(orders, 12)).toBe("12 orders");
    expect(formatWithUnit(hits, 0.5)).toBe("0.500");
    expect(formatValue(orders, undefined)).toBe("—");
    expect(formatThreshold(seed("cpu"), 90)).toBe("90%");
  });

  it("writes thresholds with the side that is bad", () => {
    expect(thresholdsText(orders)).toBe("warn ≤ 40 orders · crit ≤ 20 orders");
    expect(thresholdsText(latency)).toBe("warn ≥ 400 ms · crit ≥ 800 ms");
    expect(thresholdsText(hits)).toBeNull();
  });
});

describe("yRange", () => {
  it("always takes in both thresholds and stays within min and max", () => {
    const [lo, hi] = yRange(latency, 150, 250);
    expect(lo).toBe(0);
    expect(hi).toBeGreaterThan(800);
    const [plo, phi] = yRange(payment, 99.3, 99.9);
    expect(plo).toBeLessThan(95);
    expect(plo).toBeGreaterThan(90); // the ratio keeps its detail: not squashed against 0
    expect(phi).toBe(100);
  });

  it("shows a 0–100 % gauge whole, and starts a count without thresholds at its min", () => {
    expect(yRange(seed("cpu"), 30, 60)).toEqual([0, 100]);
    expect(yRange(seed("memory"), 78, 82)).toEqual([0, 100]);
    expect(yRange(seed("rps")!, 800, 1200)[0]).toBe(0);
    expect(yRange(orders, 50, 70)[0]).toBe(0);
  });

  it("has a range with no data at all", () => {
    const [lo, hi] = yRange(hits, null, null);
    expect(lo).toBeLessThan(hi);
  });
});

describe("RollingSeries", () => {
  it("joins the points of a metric that reports every 15 s, and breaks the line when one goes missing", () => {
    const s = new RollingSeries(900);
    for (const t of [0, 15, 30, 45]) s.push(t, 1);
    expect(s.v).toEqual([1, 1, 1, 1]);
    expect(s.sparse).toBe(true);
    s.push(120, 1); // 75 s: five times its interval
    expect(s.v).toEqual([1, 1, 1, 1, null, 1]);
  });

  it("breaks a 1 Hz line after a pause of more than a few seconds", () => {
    const s = new RollingSeries(900);
    for (const t of [0, 1, 2, 3]) s.push(t, 1);
    expect(s.sparse).toBe(false);
    s.push(4.5, 1);
    s.push(12, 1);
    expect(s.v).toEqual([1, 1, 1, 1, 1, null, 1]);
  });
});
