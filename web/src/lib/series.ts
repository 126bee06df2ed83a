// A rolling time series kept in plain arrays (uPlot reads them as they are; Vue never
// proxies them). Times are unix seconds, as uPlot expects.

/** A sample further than this from the previous one breaks the line instead of bridging it. */
const BREAK_AFTER_SECONDS = 5;

export class RollingSeries {
  readonly t: number[] = [];
  readonly v: (number | null)[] = [];

  constructor(private readonly keepSeconds: number) {}

  push(t: number, value: number): void {
    const last = this.t[this.t.length - 1];
    if (last !== undefined && t - last > BREAK_AFTER_SECONDS && this.v[this.v.length - 1] !== null) {
      this.t.push(last + 0.001);
      this.v.push(null);
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
