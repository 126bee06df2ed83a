import { createScheduledController, env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { DashboardStats } from "../../contract/index.ts";
import worker from "../../worker/index.ts";
import { readConfig } from "../../core/config/index.ts";
import { simulate } from "../../core/simulation/metrics.ts";
import { runPublisher } from "../../worker/cron/publisher.ts";
import { getJson, openStream, stub, type OpenStream } from "./helpers.ts";

const realSetTimeout = globalThis.setTimeout;
const realSleep = (ms: number) => new Promise<void>((r) => realSetTimeout(r, ms));

const metricUpdates = (stream: OpenStream) =>
  stream.events.filter((e) => e.event === "metric-update").map((e) => JSON.parse(e.data) as { timestamp: string });

/** Waits (in real time) until `stream` has a metric-update for `timestamp`, or gives up after `ms`. */
async function untilSample(stream: OpenStream, timestamp: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!metricUpdates(stream).some((u) => u.timestamp === timestamp) && Date.now() < deadline) await realSleep(10);
}

/**
 * Runs `invocations` under the fake clock: the clock moves (to the next timer) only once every
 * invocation still running is asleep, so each wakes exactly on its tick however slow the
 * machine is, and a tick can only be missed if the publisher itself skips it.
 */
async function drive(invocations: Promise<void>[]): Promise<void> {
  const running = new Set(invocations);
  for (const p of invocations) void p.finally(() => running.delete(p)).catch(() => {});
  const started = performance.now(); // real time: Date is faked, performance is not
  while (running.size > 0) {
    if (performance.now() - started > 15_000) throw new Error("the publisher did not finish its window");
    if (vi.getTimerCount() >= running.size) await vi.advanceTimersToNextTimerAsync();
    else await realSleep(1);
  }
  await Promise.all(invocations);
}

/**
 * The publisher alone: a watched simulated dashboard also simulates itself until the cron's ticks
 * arrive (durable-objects/dashboard/simulation.ts, tested in storage-cost.test.ts); here its own
 * ticks and timers would only blur what the cron publishes.
 */
async function withoutBridge(ids: string[]): Promise<void> {
  for (const id of ids) {
    await runInDurableObject(stub(id), (obj) => {
      const bridge = (obj as unknown as { simulation: { watch(on: boolean): void } }).simulation;
      bridge.watch(false);
      bridge.watch = () => {};
    });
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe("cron publisher", () => {
  it("publishes one simulated sample per dashboard on every interval of the invocation's window, one interval apart", async () => {
    // Interval and window of this test's own (2 s × 5 in a 10 s window); the clock is a fake one.
    const testEnv = { ...env, PUBLISH_INTERVAL_MS: "2000", PUBLISH_WINDOW_SECONDS: "10" } as Env;
    const config = readConfig(testEnv);
    // The simulated dashboards this test watches (others, e.g. the storage-cost test's, are not).
    const simulated = config.dashboards.filter((d) => ["demo", "checkout-api", "edge-cache", "c1"].includes(d.id));
    expect(simulated.every((d) => d.simulate)).toBe(true);
    await withoutBridge(simulated.map((d) => d.id));
    const streams = await Promise.all(simulated.map((d) => openStream(`/api/dashboards/${d.id}/events?history=0`)));

    // A cron time on a minute boundary, over a minute ago (so later real-time ticks stay newer).
    const scheduledTime = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const expected = [0, 2000, 4000, 6000, 8000].map((ms) => scheduledTime + ms);
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"], now: scheduledTime });
    // Two overlapping invocations (a retried cron, a slow previous one) must not double-publish.
    await drive([runPublisher(testEnv, scheduledTime), runPublisher(testEnv, scheduledTime)]);
    expect(Date.now()).toBe(expected.at(-1));
    vi.useRealTimers();

    const last = new Date(expected.at(-1)!).toISOString();
    for (const [i, def] of simulated.entries()) {
      const stream = streams[i]!;
      await untilSample(stream, last);
      const samples = metricUpdates(stream);
      // As many samples as intervals in the window, each on its tick: one interval apart.
      const times = samples.map((s) => Date.parse(s.timestamp));
      expect(times, def.id).toEqual(expected);
      expect(times.slice(1).map((t, j) => t - times[j]!)).toEqual([2000, 2000, 2000, 2000]);
      // Each sample is the simulator's value for its tick, reproducible from the seed.
      expect(samples, def.id).toEqual(expected.map((t) => simulate(config.seed, def, t)));
      await stream.close();
    }
    // `simulate = false` dashboards get nothing.
    for (const id of ["this-machine", "c11", "c12"]) {
      expect((await getJson<DashboardStats>(`/api/dashboards/${id}/stats`)).body.eventsPublished).toBe(0);
    }
  });

  it("the cron handler runs the publisher until the window's end (real clock)", async () => {
    await withoutBridge(["demo"]);
    const stream = await openStream("/api/dashboards/demo/events?history=0");
    const scheduledTime = Date.now();
    const controller = createScheduledController({ scheduledTime, cron: "* * * * *" });
    await worker.scheduled(controller, env);
    // PUBLISH_WINDOW_SECONDS is 3 in tests: the invocation lasts the window, publishing as it goes
    // (how many ticks a loaded machine manages in real time is the fake-clock test's business).
    expect(Date.now()).toBeGreaterThanOrEqual(scheduledTime + 3000 - 1000);
    await stream.waitFor(1);
    const metrics = metricUpdates(stream);
    expect(metrics.length).toBeGreaterThanOrEqual(1);
    expect(metrics.length).toBeLessThanOrEqual(3);
    for (const m of metrics) expect(Date.parse(m.timestamp)).toBeGreaterThanOrEqual(scheduledTime - 1000);
    await stream.close();
  });
});
