// One open SSE stream. Writes are synchronous enqueues of shared bytes; a client whose
// socket is not draining gets a small bounded queue instead of unbounded memory, loses its
// oldest metric and log frames first (log lines it lost are reported to it in one `log-dropped`
// event), and is cut off if it stops reading for too long.
import { EVENT, type LogDropped } from "../../contract/index.ts";
import type { StreamFilter } from "../../core/stream-filter.ts";
import { encodeFrame } from "./sse.ts";

/** Bytes the runtime may hold for a stream before we stop enqueueing and start queueing. */
export const STREAM_HIGH_WATER_BYTES = 64 * 1024;
/** Bytes held per stalled client beyond the runtime's buffer; past this, oldest metrics go. */
export const MAX_PENDING_BYTES = 64 * 1024;

interface Pending {
  bytes: Uint8Array;
  /** Metric updates and log lines may be dropped under backpressure; history and alerts may not. */
  droppable: boolean;
  /** Log lines in `bytes`: dropping them is reported. */
  logs: number;
}

function logDroppedFrame(count: number): Uint8Array {
  const payload: LogDropped = { count, message: `${count} log line${count === 1 ? "" : "s"} dropped: this viewer fell behind` };
  return encodeFrame({ event: EVENT.logDropped, data: JSON.stringify(payload) });
}

export class StreamClient {
  readonly stream: ReadableStream<Uint8Array>;
  /** False until history/resume has been written; broadcasts skip it until then. */
  live = false;
  closed = false;
  dropped = 0;
  /** Log lines dropped and not yet reported to the viewer. */
  private lostLogs = 0;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private stuckSince = 0;
  /** Resolves the pull the runtime is waiting on (see pull()); null while none is parked. */
  private wake: (() => void) | null = null;

  /** @param stuckAfterMs a client that has not drained for this long is cut off (it may resume by id). */
  constructor(
    readonly filter: StreamFilter | null,
    first: Uint8Array,
    private readonly stuckAfterMs: number,
    private readonly onClose: (client: StreamClient) => void,
  ) {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
          controller.enqueue(first);
        },
        pull: () => this.pull(),
        cancel: () => this.close(), // the viewer went away: forget it at once
      },
      { highWaterMark: STREAM_HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
    );
  }

  write(bytes: Uint8Array, droppable: boolean, logs = 0): void {
    if (this.closed) return;
    if (this.pending.length > 0) this.drain();
    if (this.pending.length === 0 && (this.controller.desiredSize ?? 0) > 0) {
      this.controller.enqueue(bytes);
      return;
    }
    if (this.pending.length === 0) this.stuckSince = Date.now();
    this.pending.push({ bytes, droppable, logs });
    this.unpark();
    this.pendingBytes += bytes.byteLength;
    while (this.pendingBytes > MAX_PENDING_BYTES) {
      const oldest = this.pending.findIndex((p) => p.droppable);
      if (oldest === -1) return this.fail("stream buffer full");
      const [gone] = this.pending.splice(oldest, 1);
      this.pendingBytes -= gone!.bytes.byteLength;
      this.lostLogs += gone!.logs;
      this.dropped++;
    }
  }

  /** Heartbeat tick: keep idle streams alive, cut streams stuck for too long. */
  tick(heartbeat: Uint8Array, now: number): void {
    if (this.closed) return;
    if (this.pending.length > 0) {
      this.drain(now);
      if (this.pending.length > 0 && now - this.stuckSince >= this.stuckAfterMs) this.fail("slow consumer");
      return;
    }
    if ((this.controller.desiredSize ?? 0) > 0) this.controller.enqueue(heartbeat);
  }

  close(): void {
    this.end((controller) => controller.close());
  }

  /** Ends the stream abruptly, discarding what is queued (a graceful close would wait for it). */
  fail(reason: string): void {
    this.end((controller) => controller.error(new Error(reason)));
  }

  private end(how: (controller: ReadableStreamDefaultController<Uint8Array>) => void): void {
    if (this.closed) return;
    this.closed = true;
    this.unpark();
    this.pending = [];
    this.pendingBytes = 0;
    try {
      how(this.controller);
    } catch {
      // already closed or errored by the runtime
    }
    this.onClose(this);
  }

  /**
   * The runtime calls pull after every enqueue while its buffer has room, unless the previous
   * pull is still pending: with nothing queued here, park it, so a delivery costs one enqueue
   * and no JS call or promise. Once frames queue up, unpark(): the runtime calls pull again as
   * soon as the viewer has made room, and the queue moves at once.
   */
  private pull(): Promise<void> | void {
    this.drain();
    if (this.pending.length > 0 || this.closed) return;
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  private unpark(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /**
   * Moves queued frames into the runtime's buffer as far as the viewer has made room. Called on
   * pull, and again on every write and tick: workerd pulls only once its buffer is empty, and a
   * slow viewer that reads a little at a time is behind, not stuck.
   */
  private drain(now = Date.now()): void {
    let moved = false;
    while (this.pending.length > 0 && (this.controller.desiredSize ?? 0) > 0) {
      const next = this.pending.shift()!;
      this.pendingBytes -= next.bytes.byteLength;
      if (this.lostLogs > 0) {
        // Where the lines went missing: before the first frame that follows them.
        this.controller.enqueue(logDroppedFrame(this.lostLogs));
        this.lostLogs = 0;
      }
      this.controller.enqueue(next.bytes);
      moved = true;
    }
    if (moved) this.stuckSince = now;
  }
}
