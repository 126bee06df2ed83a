// A simulated dashboard's samples while someone watches it. The cron publisher feeds watched
// dashboards only (it asks `watched()` once a minute, one request), so an unwatched one costs no
// storage; when a first viewer arrives between two cron minutes, this bridge publishes the
// simulator's ticks itself, on the same interval boundaries and under the same sequence, until
// the cron's ticks arrive: the page shows moving values within a second, and a tick published by
// both is refused the second time (sequencer.ts).
import type { DashboardDef } from "../../contract/index.ts";
import type { Config } from "../../core/config/index.ts";
import type { PublishRequest } from "../../core/rpc.ts";
import { simulatedTick } from "../../core/simulation/tick.ts";

export class SimulationBridge {
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** When the cron last delivered a tick. */
  private cronTickAt = -Infinity;

  constructor(
    private readonly def: DashboardDef,
    private readonly config: Pick<Config, "seed" | "publishIntervalMs">,
    private readonly publish: (request: PublishRequest) => Promise<unknown>,
  ) {}

  /** A tick arrived from the cron: it is feeding this dashboard. */
  cronTick(): void {
    this.cronTickAt = Date.now();
  }

  /** Runs while the dashboard is watched (and simulated); stops when nobody is. */
  watch(watched: boolean): void {
    if (!this.def.simulate) return;
    if (watched && !this.timer) this.next();
    else if (!watched && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private next(): void {
    const interval = this.config.publishIntervalMs;
    const tick = Math.ceil((Date.now() + 1) / interval) * interval;
    this.timer = setTimeout(() => {
      this.next();
      // The cron is feeding the dashboard: nothing to bridge.
      if (Date.now() - this.cronTickAt < 2 * interval) return;
      this.publish(simulatedTick(this.config.seed, this.def, tick)).catch((err: unknown) => console.error("simulated tick failed", err));
    }, tick - Date.now());
  }
}
