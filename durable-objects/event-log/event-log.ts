// The event log: the durable, ordered record of a dashboard's events that history and
// Last-Event-ID resume are served from. The Durable Object is the only writer of its
// dashboard's log and assigns the ids; implementations store and read them back.
import type { EventLogHealth } from "../../contract/index.ts";
import type { LogEntry } from "../../core/rpc.ts";

export interface EventLog {
  readonly backend: EventLogHealth["backend"];
  /**
   * True when the log lives in the Durable Object's own storage, so an append is as durable as
   * the object's state. Otherwise the object keeps accepted events in a durable outbox until
   * the log has them.
   */
  readonly inObjectStorage: boolean;
  /** Appends entries whose ids are greater than every id already in the log. */
  append(entries: LogEntry[]): Promise<void>;
  /** Entries with id strictly greater than `afterId`, ascending, at most `limit`. */
  readAfter(afterId: string, limit: number): Promise<LogEntry[]>;
  /** Entries whose id time is >= `sinceMs`, ascending, at most `limit`. */
  readSince(sinceMs: number, limit: number): Promise<LogEntry[]>;
  /**
   * Entries with id strictly less than `beforeId` (null: from the newest), newest first, at most
   * `limit`: catch-ups want the newest part of a range and stop at a byte budget, so they read back.
   */
  readBefore(beforeId: string | null, limit: number): Promise<LogEntry[]>;
  /** The newest id in the log, or null when it is empty. */
  lastId(): Promise<string | null>;
  /** The newest id removed by trimming: a resume point below it has lost events. */
  trimmedThrough(): Promise<string | null>;
  /** Removes entries older than `minMs`. */
  trim(minMs: number): Promise<void>;
}

/** How many entries follow `afterId` (a start's recount of what was published since the last save), a page at a time. */
export async function countAfter(log: EventLog, afterId: string, page = 1000): Promise<number> {
  let count = 0;
  for (let after = afterId; ;) {
    const entries = await log.readAfter(after, page);
    count += entries.length;
    if (entries.length < page) return count;
    after = entries[entries.length - 1]!.id;
  }
}
