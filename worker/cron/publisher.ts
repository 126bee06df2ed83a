// The cron publisher. Cron fires once a minute; each invocation publishes one simulated
// sample per `simulate` dashboard every PUBLISH_INTERVAL_MS for PUBLISH_WINDOW_SECONDS. Ticks sit on
// interval boundaries and carry their time as a sequence number, so a retried publish or two
// overlapping invocations never publish the same tick twice.
import { readConfig, type Config } from "../../core/config/index.ts";
import { dashboardStub } from "../stubs.ts";
import type { DashboardDef } from "../../contract/index.ts";
import { simulateLogs } from "./simulated-logs.ts";
import { simulate } from "./simulator.ts";

const ATTEMPTS = 3;

export async function runPublisher(env: Env, scheduledTime: number): Promise<void> {
  const config = readConfig(env);
  const interval = config.publishIntervalMs;
  const end = scheduledTime + config.publishWindowSeconds * 1000;
  for (let tick = Math.ceil(Date.now() / interval) * interval; tick < end;) {
    await sleep(tick - Date.now());
    // Dashboards fed by real systems (`simulate = false`) never get a simulated value.
    await Promise.all(config.dashboards.filter((d) => d.simulate).map((d) => publishTick(env, config, d, tick)));
    // If publishing took longer than an interval, skip to the next boundary instead of bunching.
    tick = Math.max(tick + interval, Math.ceil(Date.now() / interval) * interval);
  }
}

async function publishTick(env: Env, config: Config, def: DashboardDef, tick: number): Promise<void> {
  const dashboard = def.id;
  const sample = simulate(config.seed, def, tick);
  const logs = simulateLogs(config.seed, def, tick, sample);
  for (let attempt = 1; ; attempt++) {
    try {
      await dashboardStub(env, dashboard).publish({ samples: [sample], logs, source: "simulator", seq: tick });
      return;
    } catch (err) {
      // A deploy or eviction resets the object mid-call; the same seq makes the retry safe.
      if (attempt >= ATTEMPTS) {
        console.error(`publish to ${dashboard} failed for tick ${tick}`, err);
        return;
      }
      await sleep(100 * attempt);
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
