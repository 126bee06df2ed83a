// DASHBOARDS `metrics`: each bad definition stops the Worker at startup with a message naming
// the dashboard, the metric and the problem; good ones come back with their defaults filled in.
import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DashboardDef } from "../../contract/index.ts";
import { ConfigError, readConfig } from "../../core/config/index.ts";

const ok = { name: "queue_depth", warning: 100, critical: 500 };
const read =
  (metrics: unknown, extra: Record<string, unknown> = {}) =>
  () =>
    readConfig({ ...env, DASHBOARDS: [{ id: "shop", name: "Shop", metrics, ...extra }] } as Env);

describe("metric definitions in DASHBOARDS", () => {
  it.each([
    [[ok, { ...ok }], 'dashboard "shop": metric "queue_depth": is defined twice'],
    [
      [{ name: "latency", warning: 800, critical: 400 }],
      'metric "latency": warning 800 must be below critical 400 when direction is "above"',
    ],
    [
      [{ name: "orders", warning: 20, critical: 40, direction: "below" }],
      'metric "orders": warning 20 must be above critical 40 when direction is "below"',
    ],
    [[{ name: "ratio", min: 10, max: 1 }], 'metric "ratio": min 10 is greater than max 1'],
    [[{ name: "ratio", decimals: 7 }], 'metric "ratio": decimals must be a whole number from 0 to 6, got 7'],
    [[{ name: "ratio", decimals: 1.5 }], 'metric "ratio": decimals must be a whole number from 0 to 6'],
    [[{ name: "ratio", colour: "red" }], 'metric "ratio": unknown key "colour"'],
    [[{ name: "ratio", direction: "sideways", warning: 1 }], 'metric "ratio": direction must be "above" or "below"'],
    [[{ name: "ratio", warning: "high" }], 'metric "ratio": warning must be a finite number, got "high"'],
    [[{ name: "ratio", hysteresis: -1, warning: 1 }], 'metric "ratio": hysteresis must not be negative'],
    [[{ name: "ratio", hysteresis: 1 }], 'metric "ratio": hysteresis needs a warning or critical threshold'],
    [[{ name: "ratio", max: 100, warning: 150 }], 'metric "ratio": warning 150 is outside min–max'],
    [[{ name: "timestamp" }], 'metric "timestamp": "timestamp" is reserved'],
    [[{ name: "9lives" }], 'dashboard "shop": metrics[0]: name "9lives" must match'],
    [[{ name: "has space" }], 'metrics[0]: name "has space" must match'],
    [[{ name: "a".repeat(65) }], "must match"],
    [[{ label: "no name" }], "metrics[0]: name undefined must match"],
    [["cpu"], "metrics[0] must be a table"],
    [[], "`metrics` must be a non-empty list"],
    [Array.from({ length: 33 }, (_, i) => ({ name: `m${i}` })), "33 metrics; at most 32 per dashboard"],
    [[{ name: "up", source: { name: "x", tags: {} } }], 'metric "up": source: unknown key "tags"'],
    [[{ name: "up", source: { scale: 0 } }], 'metric "up": source.scale must be a non-zero finite number'],
    [
      [{ name: "up", source: { aggregate: "median" } }],
      'metric "up": source.aggregate must be one of "sum", "avg", "min", "max", got "median"',
    ],
    [[{ name: "up", source: { aggregate: 1 } }], 'metric "up": source.aggregate must be one of'],
    [[{ name: "up", source: { rate: "yes" } }], 'metric "up": source.rate must be true or false, got "yes"'],
    [[{ name: "up", source: { tags: 1 } }], 'source: unknown key "tags" (known: name, attributes, scale, aggregate, rate, by)'],
  ])("refuses %j: %s", (metrics, message) => {
    expect(read(metrics)).toThrow(ConfigError);
    expect(read(metrics)).toThrow(message);
  });

  it.each([
    [{ colour: "red" }, 'dashboard "shop": unknown key "colour"'],
    [{ simulate: "yes" }, 'dashboard "shop": simulate must be true or false'],
  ])("refuses a dashboard with %j", (extra, message) => {
    expect(read([ok], extra)).toThrow(message);
  });

  it("keeps a source with its aggregate and rate", () => {
    const source = {
      name: "system.cpu.utilization",
      attributes: { "system.cpu.state": "user" },
      scale: 100,
      aggregate: "avg",
      rate: false,
    };
    const [shop] = read([{ name: "cpu", source }])().dashboards;
    expect(shop!.metrics[0]!.source).toEqual(source);
  });

  it("fills in defaults: label = name, no unit, 2 decimals, above, hysteresis a tenth of warning–critical", () => {
    const [shop] = read([
      ok,
      { name: "free_disk", warning: 20, critical: 10, direction: "below" },
      { name: "only_critical", critical: 50 },
      { name: "plain.value" },
    ])().dashboards;
    expect(shop).toEqual({
      id: "shop",
      name: "Shop",
      simulate: true,
      seed: false,
      metrics: [
        {
          name: "queue_depth",
          label: "queue_depth",
          unit: "",
          decimals: 2,
          direction: "above",
          warning: 100,
          critical: 500,
          hysteresis: 40,
        },
        { name: "free_disk", label: "free_disk", unit: "", decimals: 2, direction: "below", warning: 20, critical: 10, hysteresis: 1 },
        { name: "only_critical", label: "only_critical", unit: "", decimals: 2, direction: "above", critical: 50, hysteresis: 1 },
        { name: "plain.value", label: "plain.value", unit: "", decimals: 2, direction: "above" },
      ],
      checks: [],
    });
  });

  it("serves the definitions: GET /api/dashboards/:id, and the list stays { id, name }", async () => {
    const checkout = (await (await SELF.fetch("https://dash.test/api/dashboards/checkout-api")).json()) as DashboardDef;
    expect(checkout).toMatchObject({ id: "checkout-api", name: "Checkout API", simulate: true, seed: false });
    expect(checkout.metrics.map((m) => [m.name, m.unit, m.decimals, m.direction])).toEqual([
      ["orders_per_min", "orders", 0, "below"],
      ["p95_latency_ms", "ms", 0, "above"],
      ["payment_success_ratio", "%", 2, "below"],
      ["queue_depth", "jobs", 0, "above"],
    ]);
    expect(checkout.metrics[2]).toMatchObject({ min: 0, max: 100, warning: 98, critical: 95, hysteresis: 0.5 });
    const demo = (await (await SELF.fetch("https://dash.test/api/dashboards/demo")).json()) as DashboardDef;
    expect(demo.seed).toBe(true);
    expect(demo.metrics.map((m) => m.name)).toEqual(["cpu", "memory", "rps", "activeConnections", "errorRate"]);
    const missing = await SELF.fetch("https://dash.test/api/dashboards/nope");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toBe("dashboard_not_found");
    expect((await SELF.fetch("https://dash.test/api/dashboards/Bad_Id")).status).toBe(400);
  });
});
