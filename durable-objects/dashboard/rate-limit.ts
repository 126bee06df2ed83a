// A token bucket: `rate` per second sustained, `burst` at once. Kept in the dashboard object's
// memory (its single writer sees every request); a restart starts with a full bucket.
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes `n` tokens if there are that many; otherwise takes none and says how long to wait (ms). */
  take(n: number, now = Date.now()): { ok: true } | { ok: false; retryAfterMs: number } {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (n <= this.tokens) {
      this.tokens -= n;
      return { ok: true };
    }
    // More than the burst can never pass at once: say when a full bucket would be there.
    const missing = Math.min(n, this.burst) - this.tokens;
    return { ok: false, retryAfterMs: Math.ceil((missing / this.rate) * 1000) };
  }
}
