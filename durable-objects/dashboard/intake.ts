// What real systems send, on its way to the log: JSON samples, protocol points (OTLP, line
// protocol, remote write) and log lines. Each is rate-limited per dashboard (past the rate
// nothing of the request is published), split metrics keep their live series (a series past
// `maxSeries` refuses the request), counters become rates; one request is one commit.
import { EVENT, type AlertState, type DashboardDef } from "../../contract/index.ts";
import type { IngestSamplesRequest, PublishLogsRequest, PublishPointsRequest, PublishPointsResult, PublishResult } from "../../core/rpc.ts";
import type { CounterStore } from "../ingest/counter-rates.ts";
import { assemble } from "../ingest/point-samples.ts";
import { partialOf, type SplitSeries } from "../ingest/split-series.ts";
import type { Entry } from "../streams/fanout.ts";
import type { CatchUp } from "./catch-up.ts";
import type { TokenBucket } from "./rate-limit.ts";
import type { Sequencer } from "./sequencer.ts";

export interface IntakeParts {
  def: DashboardDef;
  seq: Sequencer;
  /** Appends and commits; answers once durable. */
  emit: (entries: Entry[]) => Promise<PublishResult>;
  counters: CounterStore;
  splits: SplitSeries;
  history: CatchUp;
  alertState: () => AlertState;
  /** Read on every request (tests swap them). */
  buckets: () => { points: TokenBucket; logs: TokenBucket };
}

type Limited<T> = T | { retryAfterMs: number };

export class Intake {
  private splitsReady: Promise<void> | null = null;

  constructor(private readonly o: IntakeParts) {}

  /** JSON samples: their values count like points; a split metric's refused series refuses them all. */
  async samples({ samples, points }: IngestSamplesRequest): Promise<Limited<PublishResult> | { refused: string }> {
    const allowed = this.o.buckets().points.take(points);
    if (!allowed.ok) return { retryAfterMs: allowed.retryAfterMs };
    const { seq, splits } = this.o;
    if (!splits.any) return this.o.emit(seq.samples(samples));
    await this.splitsLearnt();
    const done = splits.complete(samples.map(partialOf));
    if (done.refused.count > 0) return { refused: done.refused.reasons.join("; ").replace(/^metric "([^"]+)": /, "$1: ") };
    done.apply();
    return this.o.emit(seq.samples(done.samples, done.gone));
  }

  /** OTLP / line-protocol / remote-write points (ingest/point-samples.ts); `atomic`: all or none. */
  async points({ batches, points, atomic }: PublishPointsRequest): Promise<PublishPointsResult> {
    const allowed = this.o.buckets().points.take(points);
    if (!allowed.ok) return { retryAfterMs: allowed.retryAfterMs };
    const { def, seq, splits, counters } = this.o;
    if (splits.any) await this.splitsLearnt();
    const assembled = assemble(def, batches, (key) => counters.get(key), splits);
    const { samples, gone, refused } = assembled;
    if (atomic && refused.count > 0) return { ids: [], events: [], refused, published: false };
    counters.save(assembled.counters, assembled.rebased);
    assembled.keepSeries();
    const result = samples.length > 0 ? await this.o.emit(seq.samples(samples, gone)) : { ids: [], events: [] };
    return { ...result, refused, published: true };
  }

  /** Log lines, all or none: past the dashboard's log rate nothing is published. */
  async logs({ lines }: PublishLogsRequest): Promise<Limited<PublishResult>> {
    const allowed = this.o.buckets().logs.take(lines.length);
    if (!allowed.ok) return { retryAfterMs: allowed.retryAfterMs };
    return this.o.emit(lines.map((line) => this.o.seq.entry(EVENT.log, line)));
  }

  /** After a start, the split metrics' live series come from the recent window (the log read once). */
  private splitsLearnt(): Promise<void> {
    return (this.splitsReady ??= this.o.history.ensureWindow().then(
      () => this.o.splits.learn(this.o.history.window.entries, this.o.alertState()),
      () => {}, // the log cannot be read: the series are learnt afresh from what comes
    ));
  }
}
