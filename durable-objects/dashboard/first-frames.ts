// What a viewer, or a relay for its viewers, is sent before it goes live: the history it asked
// for or what a resume missed (catch-up.ts reads it), a gap notice first when needed, then the
// window's newest events in the same synchronous step that makes it live, so nothing falls
// between or comes twice. A simulated dashboard's first viewer waits for the ticks its arrival
// fills in (simulation.ts), so they arrive as history.
import type { EventId } from "../../contract/index.ts";
import type { ReplayRequest, ReplayResult } from "../../core/rpc.ts";
import { framesFor, gapFrame, idOrNull, toLogEntry, type Fanout, type StreamRequest } from "../streams/fanout.ts";
import { historySince } from "../streams/recent-window.ts";
import type { StreamClient } from "../streams/stream-client.ts";
import type { CatchUp } from "./catch-up.ts";

/** Entries per replay answer; a longer replay is paged (`more`). */
export const REPLAY_LIMIT = 5000;

export interface FirstFramesParts {
  history: CatchUp;
  retentionSeconds: () => number;
  /** Settles when the simulated ticks a first viewer brings in are committed. */
  backfilled: () => Promise<void>;
  /** The last id committed (read synchronously, after the last await). */
  lastCommitted: () => EventId | null;
}

export class FirstFrames {
  constructor(private readonly o: FirstFramesParts) {}

  /** Writes history (or what a resuming client missed) to `client`, then makes it live; the events written. */
  async toViewer(client: StreamClient, { resumeId, historySeconds, openedAt }: StreamRequest, fanout: Fanout): Promise<number> {
    const sinceMs = historySince(openedAt, historySeconds, this.o.retentionSeconds());
    await this.o.backfilled();
    const part = await this.o.history.fromLog(resumeId, sinceMs, () => client.closed);
    if (!part || client.closed) return 0;
    // From memory, synchronously up to the moment the client turns live: no gap, no repeat.
    const out: Uint8Array[] = [];
    if (part.gap) out.push(gapFrame(part.gap));
    framesFor(part.logged, client.filter, out);
    framesFor(this.o.history.window.since(part.after, part.sinceMs), client.filter, out);
    return fanout.goLive(client, out);
  }

  /** For a relay: what a viewer here with the same Last-Event-ID / `history` gets first, and where it goes live. */
  async replay({ lastEventId, sinceMs }: ReplayRequest): Promise<ReplayResult> {
    await this.o.backfilled();
    const part = (await this.o.history.fromLog(lastEventId, sinceMs, () => false, REPLAY_LIMIT))!;
    // Synchronously from here on: `through` is exactly what the entries reach.
    let entries = part.logged;
    let through = this.o.lastCommitted();
    if (part.complete) entries = entries.concat(this.o.history.window.since(part.after, part.sinceMs));
    else through = part.after;
    const more = !part.complete || entries.length > REPLAY_LIMIT;
    if (entries.length > REPLAY_LIMIT) {
      entries = entries.slice(0, REPLAY_LIMIT);
      through = entries[entries.length - 1]!.key;
    }
    return { gap: part.gap, entries: entries.map(toLogEntry), through: idOrNull(through), sinceMs: part.sinceMs, more };
  }
}
