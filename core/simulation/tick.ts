// One tick of the simulator, as both its publishers send it: the cron Worker
// (worker/cron/publisher.ts) and a newly watched dashboard's own bridge
// (durable-objects/dashboard/simulation.ts). They share one sequence: the tick's time.
import type { DashboardDef } from "../../contract/index.ts";
import type { PublishRequest } from "../rpc.ts";
import { simulateLogs } from "./logs.ts";
import { simulate } from "./metrics.ts";

/** The publishers' source name. */
export const SIMULATOR = "simulator";

/** The publish for the tick at `tick` (ms, on an interval boundary). */
export function simulatedTick(seed: string, def: DashboardDef, tick: number): PublishRequest {
  const sample = simulate(seed, def, tick);
  return { samples: [sample], logs: simulateLogs(seed, def, tick, sample), source: SIMULATOR, seq: tick };
}
