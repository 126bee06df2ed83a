// The cron publisher. Cron fires once a minute; each invocation publishes one simulated sample
// every PUBLISH_INTERVAL_MS for PUBLISH_WINDOW_SECONDS to each `simulate` dashboard that someone
// watches: it asks each one once, at the start (one request a minute for a dashboard nobody
// watches, which then costs no storage), and stops feeding one whose object says it is no longer
// watched. A dashboard that gets its first viewer in between simulates itself until the next
// minute (durable-objects/dashboard/simulation.ts). Ticks sit on interval boundaries and carry
// their time as a sequence number, so a retried publish or two overlapping invocations never
// publish the same tick twice.
import type { DashboardDef } from "../../contract/index.ts";
import { readConfig, type Config } from "../../core/config/index.ts";
import { simulatedTick } from "../../core/simulation/tick.ts";
import { dashboardStub } from "../stubs.ts";

const ATTEMPTS = 3;

export async function runPublisher(env: Env, scheduledTime: number): Promise<void> {
  const config = readConfig(env);
  const interval = config.publishIntervalMs;
  const end = scheduledTime + config.publishWindowSeconds * 1000;
  const simulated = config.dashboards.filter((d) => d.simulate);
  const asked = await Promise.all(
    simulated.map((d) =>
      dashboardStub(env, d.id)
        .watched()
        .catch(() => true),
    ),
  );
  let watched = simulated.filter((_, i) => asked[i]);
  for (let tick = Math.ceil(Date.now() / interval) * interval; tick < end && watched.length > 0;) {
    await sleep(tick - Date.now());
    const still = await Promise.all(watched.map((d) => publishTick(env, config, d, tick)));
    watched = watched.filter((_, i) => still[i]);
    // If publishing took longer than an interval, skip to the next boundary instead of bunching.
    tick = Math.max(tick + interval, Math.ceil(Date.now() / interval) * interval);
  }
}

/** Publishes one tick; false when the dashboard is not watched any more. */
async function publishTick(env: Env, config: Config, def: DashboardDef, tick: number): Promise<boolean> {
  const request = simulatedTick(config.seed, def, tick);
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await dashboardStub(env, def.id).publish(request);
      return !result.unwatched;
    } catch (err) {
      // A deploy or eviction resets the object mid-call; the same seq makes the retry safe.
      if (attempt >= ATTEMPTS) {
        console.error(`publish to ${def.id} failed for tick ${tick}`, err);
        return true;
      }
      await sleep(100 * attempt);
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
