import { createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DashboardStats } from "../../contract/index.ts";
import worker from "../../worker/index.ts";
import { simulateSample } from "../../core/simulation/metrics.ts";
import { getJson, openStream } from "./helpers.ts";

describe("cron publisher", () => {
  it("publishes a simulated sample per dashboard every interval for the invocation's window", async () => {
    const stream = await openStream("/api/dashboards/demo/events?history=0");
    // The cron simulates watched dashboards only (test/worker/storage-cost.test.ts: unwatched ones cost nothing).
    const others = await Promise.all(
      ["checkout-api", "edge-cache", "c1"].map((id) => openStream(`/api/dashboards/${id}/events?history=0`)),
    );
    const controller = createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" });
    // PUBLISH_WINDOW_SECONDS is 3 in tests; two overlapping invocations must not double-publish.
    await Promise.all([worker.scheduled(controller, env), worker.scheduled(controller, env)]);
    const metrics = stream.events.filter((e) => e.event === "metric-update");
    // One per second of the 3 s window; a loaded machine may skip a late tick, never add one.
    expect(metrics.length).toBeGreaterThanOrEqual(1);
    expect(metrics.length).toBeLessThanOrEqual(3);
    const seconds = metrics.map((e) => JSON.parse(e.data).timestamp as string);
    expect(new Set(seconds).size).toBe(seconds.length);
    // Each sample is the simulator's value for its tick, reproducible from the seed.
    for (const e of metrics) {
      const data = JSON.parse(e.data);
      expect(data).toEqual(simulateSample(env.SIMULATION_SEED, "demo", Date.parse(data.timestamp)));
    }
    for (const id of ["checkout-api", "edge-cache"]) {
      const { body } = await getJson<DashboardStats>(`/api/dashboards/${id}/stats`);
      expect(body.eventsPublished).toBeGreaterThanOrEqual(metrics.length);
    }
    // A dashboard with its own metrics gets simulated values of those; `simulate = false` gets none.
    const c1 = await getJson<DashboardStats>("/api/dashboards/c1/stats");
    expect(c1.body.eventsPublished).toBeGreaterThanOrEqual(metrics.length);
    for (const id of ["c11", "c12"]) expect((await getJson<DashboardStats>(`/api/dashboards/${id}/stats`)).body.eventsPublished).toBe(0);
    await Promise.all([stream, ...others].map((s) => s.close()));
  });
});
