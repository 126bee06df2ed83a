// Keeps the history buckets (rollups.ts) in step with what the dashboard object commits, and
// answers history queries from them. When a bucket write fails, or the log could not be read
// at start, the buckets catch up from the log on the append chain, so no commit interleaves.
import type { DashboardDef } from "../../contract/index.ts";
import { answerMetric, type AnswerMetric } from "./rollup-answer.ts";
import type { AppendChain } from "../dashboard/append-chain.ts";
import type { EventLog } from "../event-log/event-log.ts";
import type { Entry } from "../streams/fanout.ts";
import type { Rollups } from "./rollups.ts";
import type { SeriesRequest, SeriesResult } from "../../core/rpc.ts";

export class HistoryFeed {
  /** Queries that reached the object (the Worker's cache answers repeats of settled ranges). */
  queries = 0;

  constructor(
    readonly rollups: Rollups,
    private readonly log: () => EventLog,
    private readonly appends: AppendChain,
  ) {}

  /** Committed events into the buckets; when they are behind, the catch-up reads these from the log. */
  add(entries: Entry[]): void {
    if (this.rollups.caughtUp) {
      try {
        return this.rollups.add(entries);
      } catch (err) {
        console.error("history buckets: write failed, catching up from the log", err);
        this.rollups.caughtUp = false;
      }
    }
    void this.catchUp();
  }

  /** History (checked by worker/series.ts) as the answer's JSON; not `complete`: do not cache. */
  async series({ from, to, step, metrics }: SeriesRequest, def: DashboardDef): Promise<SeriesResult> {
    this.queries++;
    if (!this.rollups.caughtUp) await this.catchUp();
    const defs = metrics.map((name): AnswerMetric => {
      const m = def.metrics.find((d) => d.name === name);
      return m ? answerMetric(m) : { name, decimals: 2 };
    });
    return { json: this.rollups.queryJson(defs, from, to, step), complete: this.rollups.caughtUp };
  }

  private catchUp(): Promise<void> {
    return this.appends.then(async () => {
      if (this.rollups.caughtUp) return;
      try {
        await this.rollups.catchUp(this.log());
      } catch (err) {
        this.appends.degrade(err);
      }
    });
  }
}
