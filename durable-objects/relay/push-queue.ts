// Pushes a relay holds while it is not yet synced or heals a gap, oldest first. Bounded by count
// and by payload bytes (a burst of large log lines must not fill the relay's memory): past either
// the oldest are dropped, which is safe, since the heal fetches whatever is missing by id.
import type { DeliverBatch } from "../../core/rpc.ts";

const MAX_PUSHES = 256;
const MAX_BYTES = 8 * 1024 * 1024;

const payloadBytes = (b: DeliverBatch) => b.entries.reduce((n, e) => n + e.data.length, 0);

export class PushQueue {
  private batches: DeliverBatch[] = [];
  private bytes = 0;

  constructor(
    private readonly maxPushes = MAX_PUSHES,
    private readonly maxBytes = MAX_BYTES,
  ) {}

  get length(): number {
    return this.batches.length;
  }

  push(batch: DeliverBatch): void {
    this.batches.push(batch);
    this.bytes += payloadBytes(batch);
    while (this.batches.length > 1 && (this.batches.length > this.maxPushes || this.bytes > this.maxBytes))
      this.bytes -= payloadBytes(this.batches.shift()!);
  }

  /** Everything queued, oldest first; the queue is empty after. */
  take(): DeliverBatch[] {
    const batches = this.batches;
    this.batches = [];
    this.bytes = 0;
    return batches;
  }
}
