// What ingest did not take, as every protocol reports it: how many points or records, a bounded
// list of distinct reasons (OTLP's partialSuccess message, line protocol's error), and the first
// refusal whose place the protocol can name (a line-protocol line), for an error that says where.
export const MAX_REASONS = 20;

export interface Refused {
  count: number;
  /** Distinct reasons, at most MAX_REASONS, e.g. `histogram "http.server.duration" (not supported)`. */
  reasons: string[];
  /** The first refusal with a place (`ref` ≥ 0: a line number); absent when none had one. */
  first?: { ref: number; reason: string };
}

/** Collects refusals: counts all of them, keeps a bounded list of distinct reasons. */
export class Refusals {
  count = 0;
  private readonly reasons = new Set<string>();
  private first: Refused["first"];

  /** `n` refused for `reason`; `ref` says where (a line number), -1 where the protocol has no place. */
  add(reason: string, n = 1, ref = -1): void {
    this.count += n;
    this.note(reason, ref);
  }

  /** A reason without counting (the caller counts). */
  note(reason: string, ref = -1): void {
    if (ref >= 0) this.first ??= { ref, reason };
    if (this.reasons.size < MAX_REASONS) this.reasons.add(reason);
  }

  result(): Refused {
    const out: Refused = { count: this.count, reasons: [...this.reasons] };
    if (this.first) out.first = this.first;
    return out;
  }
}
