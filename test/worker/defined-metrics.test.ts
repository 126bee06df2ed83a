// A dashboard with its own metrics (test/setup/dashboards.ts: queue_depth above 100/500,
// success_ratio below 98/95 with hysteresis 0.5, http.server.p95 critical-only at 800,
// cache_hits without thresholds): ingest, alerts, the filter and the simulator follow it.
import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { evaluateAlerts, type Alert, type AlertState, type ApiError, type IngestResult } from "../../contract/index.ts";
import { dashboardDef, readConfig } from "../../core/config/index.ts";
import { simulate } from "../../core/simulation/metrics.ts";
import { openStream } from "./helpers.ts";

const TOKEN = "test-ingest-token-0123456789";

function ingest(dashboard: string, body: unknown) {
  return SELF.fetch(`https://dash.test/api/dashboards/${dashboard}/metrics`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("ingest against a dashboard's own definitions", () => {
  it("accepts partial samples, rounds each metric to its decimals and sends them in definition order", async () => {
    const stream = await openStream("/api/dashboards/c2/events?history=0");
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 5000).toISOString();
    const response = await ingest("c2", [{ cache_hits: 0.12345, queue_depth: 7.6, timestamp: at }, { "http.server.p95": 123.456 }]);
    expect(response.status).toBe(202);
    const { ids } = (await response.json()) as IngestResult;
    const events = await stream.waitFor(2);
    expect(events.map((e) => e.id)).toEqual(ids);
    expect(events[0]!.data).toBe(`{"queue_depth":8,"cache_hits":0.123,"timestamp":"${at}"}`);
    expect(Object.keys(JSON.parse(events[1]!.data))).toEqual(["http.server.p95", "timestamp"]);
    expect(JSON.parse(events[1]!.data)["http.server.p95"]).toBe(123.5);
    await stream.close();
  });

  it.each([
    [
      { queue_depth: 1, disk: 3 },
      400,
      "disk: not a metric of this dashboard (known: queue_depth, success_ratio, http.server.p95, cache_hits)",
    ],
    [{ cpu: 50 }, 400, "cpu: not a metric of this dashboard"],
    [{ success_ratio: 100.5 }, 400, "success_ratio: 100.5 is above the maximum 100"],
    [{ queue_depth: -1 }, 400, "queue_depth: -1 is below the minimum 0"],
    [{ queue_depth: "12" }, 400, "queue_depth: must be a number, got string"],
    [{ queue_depth: null }, 400, "queue_depth: must be a number, got null"],
    [{ timestamp: new Date().toISOString() }, 400, "sample: carries none of the metrics"],
    [{}, 400, "sample: carries none of the metrics"],
    [[{ queue_depth: 1 }, { cache_hits: true }], 400, "[1].cache_hits: must be a number, got boolean"],
  ])("%j → %i naming it", async (body, status, message) => {
    const response = await ingest("c3", body);
    expect(response.status).toBe(status);
    const error = (await response.json()) as ApiError;
    expect(error.error).toBe("invalid_sample");
    expect(error.message).toContain(message);
  });

  it("refuses Infinity (1e400 in JSON) and publishes nothing of a rejected request", async () => {
    const stream = await openStream("/api/dashboards/c4/events?history=0");
    const bad = await SELF.fetch("https://dash.test/api/dashboards/c4/metrics", {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: '[{"queue_depth": 1}, {"queue_depth": 1e400}]',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ApiError).message).toBe("[1].queue_depth: must be a finite number");
    const good = (await (await ingest("c4", { queue_depth: 2 })).json()) as IngestResult;
    const [first] = await stream.waitFor(1);
    expect(first!.id).toBe(good.ids[0]);
    await stream.close();
  });
});

describe("alerts on defined metrics", () => {
  const def = () => dashboardDef(readConfig(env), "c1");

  function run(samples: Record<string, number>[]): string[] {
    let state: AlertState = {};
    return samples.map((values) => {
      const r = evaluateAlerts({ ...values, timestamp: "2026-11-30T00:00:00.000Z" }, def(), state);
      state = r.state;
      return r.alerts.map((a) => `${a.metric}:${a.level}@${a.threshold}`).join(",") || "-";
    });
  }

  it("below: low values are bad, recovery needs the value hysteresis above the threshold", () => {
    expect(
      run([
        { success_ratio: 99 },
        { success_ratio: 97.9 },
        { success_ratio: 98.2 },
        { success_ratio: 94 },
        { success_ratio: 95.4 },
        { success_ratio: 95.6 },
        { success_ratio: 98.4 },
        { success_ratio: 98.6 },
      ]),
    ).toEqual([
      "-",
      "success_ratio:warning@98",
      "-", // 98.2 < 98 + 0.5: still warning
      "success_ratio:critical@95",
      "-", // 95.4 < 95 + 0.5
      "success_ratio:warning@98",
      "-",
      "success_ratio:resolved@98",
    ]);
  });

  it("above with the default hysteresis (a tenth of 100–500 = 40), and a critical-only metric", () => {
    expect(run([{ queue_depth: 120 }, { queue_depth: 70 }, { queue_depth: 59 }])).toEqual([
      "queue_depth:warning@100",
      "-",
      "queue_depth:resolved@100",
    ]);
    expect(run([{ "http.server.p95": 800 }, { "http.server.p95": 790 }, { "http.server.p95": 780 }])).toEqual([
      "http.server.p95:critical@800",
      "-",
      "http.server.p95:resolved@800",
    ]);
  });

  it("a partial sample judges only what it carries: the others keep their level", () => {
    expect(run([{ queue_depth: 600, success_ratio: 90 }, { cache_hits: 1 }, { queue_depth: 10 }, { success_ratio: 99 }])).toEqual([
      "queue_depth:critical@500,success_ratio:critical@95",
      "-",
      "queue_depth:resolved@100",
      "success_ratio:resolved@98",
    ]);
  });

  it("reach viewers with the direction and a message that reads right, in the ingest answer's order", async () => {
    const stream = await openStream("/api/dashboards/c5/events?history=0");
    const response = await ingest("c5", [{ success_ratio: 93.456, cache_hits: 1 }, { success_ratio: 99 }]);
    const { ids, alertIds } = (await response.json()) as IngestResult;
    expect(alertIds).toHaveLength(2);
    const events = await stream.waitFor(4);
    expect(events.map((e) => e.event)).toEqual(["metric-update", "alert", "metric-update", "alert"]);
    expect(events.filter((e) => e.event === "metric-update").map((e) => e.id)).toEqual(ids);
    const [raised, resolved] = events.filter((e) => e.event === "alert").map((e) => JSON.parse(e.data) as Alert);
    expect(raised).toEqual({
      level: "critical",
      metric: "success_ratio",
      value: 93.46,
      threshold: 95,
      direction: "below",
      message: "Success 93.46% is below critical threshold 95%",
      timestamp: raised!.timestamp,
    });
    expect(resolved).toMatchObject({ level: "resolved", threshold: 98, message: "Success back to normal at 99% (above 98%)" });
    await stream.close();
  });
});

describe("?metrics= on a defined dashboard", () => {
  it("is checked against the dashboard's names (400 naming the unknown ones)", async () => {
    const response = await SELF.fetch("https://dash.test/api/dashboards/c6/events?metrics=queue_depth,cpu,disk");
    expect(response.status).toBe(400);
    const error = (await response.json()) as ApiError;
    expect(error.message).toBe('metrics: unknown metric "cpu", "disk"; known: queue_depth, success_ratio, http.server.p95, cache_hits');
    const seedName = await SELF.fetch("https://dash.test/api/dashboards/demo/events?metrics=queue_depth");
    expect(seedName.status).toBe(400);
  });

  it("narrows each sample to the chosen metrics it carries, skips samples with none, keeps their alerts", async () => {
    const stream = await openStream("/api/dashboards/c7/events?history=0&metrics=http.server.p95,queue_depth");
    await ingest("c7", [
      { cache_hits: 5 },
      { queue_depth: 3, cache_hits: 1 },
      { success_ratio: 90 },
      { "http.server.p95": 900, queue_depth: 4 },
    ]);
    const events = await stream.waitFor(3);
    await new Promise((r) => setTimeout(r, 100));
    expect(stream.events).toHaveLength(3);
    expect(events.map((e) => [e.event, Object.keys(JSON.parse(e.data)).join(",")])).toEqual([
      ["metric-update", "queue_depth,timestamp"],
      ["metric-update", "queue_depth,http.server.p95,timestamp"], // definition order
      ["alert", "level,metric,value,threshold,direction,message,timestamp"],
    ]);
    expect(JSON.parse(events[2]!.data).metric).toBe("http.server.p95");
    await stream.close();
  });
});

describe("simulated values of defined metrics", () => {
  it("stay inside min–max at their decimals, are reproducible, and cross thresholds in their direction", () => {
    const c1 = dashboardDef(readConfig(env), "c1");
    const start = Date.parse("2026-11-21T00:00:00Z");
    expect(simulate("42", c1, start + 7000)).toEqual(simulate("42", c1, start + 7000));
    expect(simulate("42", c1, start + 7000)).not.toEqual(simulate("43", c1, start + 7000));
    let state: AlertState = {};
    const raised = new Map<string, Set<string>>();
    for (let t = 0; t < 6 * 3600; t++) {
      const s = simulate("42", c1, start + t * 1000);
      expect(Object.keys(s)).toEqual(["queue_depth", "success_ratio", "http.server.p95", "cache_hits", "timestamp"]);
      for (const m of c1.metrics) {
        const v = s[m.name] as number;
        if (m.min !== undefined) expect(v).toBeGreaterThanOrEqual(m.min);
        if (m.max !== undefined) expect(v).toBeLessThanOrEqual(m.max);
        expect(Math.round(v * 10 ** m.decimals) / 10 ** m.decimals).toBe(v);
      }
      const r = evaluateAlerts(s, c1, state);
      state = r.state;
      for (const a of r.alerts) raised.set(a.metric, (raised.get(a.metric) ?? new Set()).add(a.level));
    }
    // Excursions reach warning and critical, and come back, for every metric with thresholds.
    for (const m of ["queue_depth", "success_ratio", "http.server.p95"]) {
      expect(raised.get(m), m).toEqual(new Set(m === "http.server.p95" ? ["critical", "resolved"] : ["warning", "critical", "resolved"]));
    }
    expect(raised.has("cache_hits")).toBe(false);
  });
});
