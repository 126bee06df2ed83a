// A simulated dashboard's samples while someone watches it. The cron publisher feeds watched
// dashboards only (it asks `watched()` once a minute, one request), so an unwatched one costs no
// storage. When a first viewer arrives, this bridge first publishes the ticks of the live window
// nobody was there for (the simulator is a pure function of seed, dashboard and time, so they are
// the values the cron would have sent), in one commit with ids at their ticks' times: a few
// rows, and the viewer's charts open full. Then it publishes the ticks itself, on the same interval boundaries and under the same
// sequence, until the cron's ticks arrive: the page shows moving values within a second, and a
// tick published by both is refused the second time (sequencer.ts).
import { LIVE_WINDOW_SECONDS, type DashboardDef } from "../../contract/index.ts";
import type { Config } from "../../core/config/index.ts";
import type { PublishRequest } from "../../core/rpc.ts";
import { simulatedTick } from "../../core/simulation/tick.ts";

/** At most this many ticks filled in at once (the live window at the default 1 s interval). */
const MAX_BACKFILL_TICKS = LIVE_WINDOW_SECONDS;

export class SimulationBridge {
  private watching = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** When the cron last delivered a tick. */
  private cronTickAt = -Infinity;
  /** Settles once the missed ticks are published: a catch-up waits for it, so they arrive as history. */
  backfilled: Promise<void> = Promise.resolve();

  constructor(
    private readonly def: DashboardDef,
    private readonly config: Pick<Config, "seed" | "publishIntervalMs" | "retentionSeconds">,
    private readonly publish: (request: PublishRequest) => Promise<unknown>,
    /** Publishes missed ticks in one commit, each id at its tick's time. */
    private readonly publishBackfill: (ticks: PublishRequest[]) => Promise<unknown>,
    /** The newest simulator tick the dashboard has (its sequence), once it is known after a start. */
    private readonly lastTick: () => Promise<number | undefined>,
  ) {}

  /** A tick arrived from the cron: it is feeding this dashboard. */
  cronTick(): void {
    this.cronTickAt = Date.now();
  }

  /** Runs while the dashboard is watched (and simulated); stops when nobody is. */
  watch(watched: boolean): void {
    if (!this.def.simulate || watched === this.watching) return;
    this.watching = watched;
    if (watched) {
      this.backfilled = this.backfill()
        .catch((err: unknown) => console.error("simulated backfill failed", err))
        .then(() => {
          if (this.watching && !this.timer) this.next();
        });
    } else if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** The ticks of the live window after the dashboard's newest one, up to now, as one publish. */
  private async backfill(): Promise<void> {
    const interval = this.config.publishIntervalMs;
    const now = Date.now();
    const newest = Math.floor(now / interval) * interval;
    const windowStart = now - Math.min(LIVE_WINDOW_SECONDS, this.config.retentionSeconds) * 1000;
    let first = Math.max(Math.ceil(windowStart / interval) * interval, newest - (MAX_BACKFILL_TICKS - 1) * interval);
    const last = await this.lastTick();
    if (last !== undefined) first = Math.max(first, last + interval);
    if (first > newest || !this.watching) return;
    const ticks: PublishRequest[] = [];
    for (let tick = first; tick <= newest; tick += interval) ticks.push(simulatedTick(this.config.seed, this.def, tick));
    await this.publishBackfill(ticks);
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
