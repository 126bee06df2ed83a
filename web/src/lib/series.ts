// A rolling time series kept in plain arrays (uPlot reads them as they are; Vue never
// proxies them). Times are unix seconds, as uPlot expects. Each metric has its own series with
// only the samples that carried it, so a metric reported every 15 s is a line through its own
// points, not a line broken by the samples of its faster neighbours.

/** A pause shorter than this never breaks the line (1 Hz with hiccups). */
const BREAK_AFTER_SECONDS = 5;
/** Longer pauses break it when they are this many times the metric's previous interval. */
const BREAK_FACTOR = 3;

export class RollingSeries {
  readonly t: number[] = [];
  readonly v: (number | null)[] = [];

  /** Seconds between the last two samples: the metric's own reporting interval. */
  private interval: number | undefined;

  constructor(private readonly keepSeconds: number) {}

  push(t: number, value: number): void {
    const last = this.t[this.t.length - 1];
    if (last !== undefined && this.v[this.v.length - 1] !== null) {
      const dt = t - last;
      // Missed samples, not a slow source: a pause well beyond the interval seen so far.
      if (dt > BREAK_AFTER_SECONDS && this.interval !== undefined && dt > BREAK_FACTOR * this.interval) {
        this.t.push(last + 0.001);
        this.v.push(null);
      }
      this.interval = dt;
    }
    this.t.push(t);
    this.v.push(value);
    this.trim(t - this.keepSeconds);
  }

  /** Ends the line here: the next point starts a new segment (a `gap` in the stream). */
  break(): void {
    const last = this.t[this.t.length - 1];
    if (last === undefined || this.v[this.v.length - 1] === null) return;
    this.t.push(last + 0.001);
    this.v.push(null);
  }

  /** A slow source (or a single sample so far): its points are worth drawing as dots. */
  get sparse(): boolean {
    return this.t.length === 1 || (this.interval !== undefined && this.interval > BREAK_AFTER_SECONDS);
  }

  get length(): number {
    return this.t.length;
  }

  /** Samples (not breaks) at or after `since`. */
  countSince(since: number): number {
    let n = 0;
    for (let i = this.t.length - 1; i >= 0 && this.t[i]! >= since; i--) if (this.v[i] !== null) n++;
    return n;
  }

  clear(): void {
    this.t.length = 0;
    this.v.length = 0;
    this.interval = undefined;
  }

  private trim(minT: number): void {
    let drop = 0;
    while (drop < this.t.length && this.t[drop]! < minT) drop++;
    if (drop > 0) {
      this.t.splice(0, drop);
      this.v.splice(0, drop);
    }
  }
}
