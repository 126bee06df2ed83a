// What a viewer is sent before it goes live: history (the last N seconds) or, on a resume,
// exactly what it missed after its Last-Event-ID, with a gap notice when some of that is no
// longer retained. Served from the in-memory window where it reaches, from the log beyond it;
// the window is filled once for every viewer, and a log read in flight is shared by every
// catch-up that asks the same (the reconnect storm after a deploy resumes from the same ids).
import { compareEventIds, formatEventId, parseEventId, type EventId, type Gap } from "../../contract/index.ts";
import type { LogEntry } from "../../core/rpc.ts";
import type { EventLog } from "../event-log/event-log.ts";
import { toEntry, type Entry } from "../streams/fanout.ts";
import { RecentWindow } from "../streams/recent-window.ts";

const LOG_PAGE = 1000;

/** The first, asynchronous part of history or resume; the window part follows synchronously. */
export interface LogPart {
  gap: Gap | null;
  logged: Entry[];
  /** The window part starts after this id (null: at `sinceMs`). */
  after: EventId | null;
  sinceMs: number;
  /** False when reading stopped at `limit` before the window took over. */
  complete: boolean;
}

export class CatchUp {
  /** Recent committed events, in memory. */
  readonly window: RecentWindow;
  private windowLoad: Promise<void> | null = null;
  /** Log reads in flight, by what they ask. */
  private readonly reads = new Map<string, Promise<unknown>>();

  constructor(
    private readonly log: EventLog,
    private readonly retentionSeconds: () => number,
    /** The last id committed (in the log and sent to live viewers). */
    private readonly lastCommitted: () => EventId | null,
  ) {
    this.window = new RecentWindow(retentionSeconds);
  }

  /**
   * The asynchronous part of history or resume: the gap notice, and the events that must come
   * from the log because the window does not hold them. Null when `cancelled` turns true.
   */
  async fromLog(rawResume: string | null, requestedSinceMs: number, cancelled: () => boolean, limit = Infinity): Promise<LogPart | null> {
    await this.ensureWindow();
    let after = parseEventId(rawResume); // malformed: a fresh connect
    this.window.trim(); // drop what aged out of retention since the last publish
    const retained = Date.now() - this.retentionSeconds() * 1000;
    const sinceMs = Math.max(requestedSinceMs, retained);
    let gap: Gap | null = null;

    if (after) {
      const last = this.lastCommitted();
      if (last === null || compareEventIds(after, last) > 0) {
        // An id this dashboard never issued (its log was reset): say so, then send history.
        gap = { lastEventId: rawResume!, oldestId: null, message: "unknown event id; sending recent history instead" };
        after = null;
      } else if (!this.window.covers(after, sinceMs)) {
        // Only a resume point older than the window can have lost events to trimming; the
        // common reconnect is served from memory without touching the log (even while it is down).
        const trimmed = parseEventId(await this.shared("trimmed", () => this.log.trimmedThrough()));
        if (trimmed && compareEventIds(after, trimmed) < 0) {
          gap = { lastEventId: rawResume!, oldestId: formatEventId(trimmed), message: "events after this id are no longer retained" };
          after = trimmed;
        }
      }
    }

    // From the log: whatever the window does not cover.
    const logged: Entry[] = [];
    let complete = true;
    while (!this.window.covers(after, sinceMs)) {
      if (logged.length >= limit) {
        complete = false;
        break;
      }
      const page = await this.page(after ? formatEventId(after) : null, sinceMs);
      if (cancelled()) return null;
      for (const e of page) {
        if (this.window.holds(e.key)) break;
        after = e.key;
        logged.push(e);
      }
      if (page.length < LOG_PAGE) break;
    }
    return { gap, logged, after, sinceMs, complete };
  }

  /** One page of the log after `afterId` (or, without it, since `sinceMs`), shared with every identical read in flight. */
  private page(afterId: string | null, sinceMs: number): Promise<Entry[]> {
    const read = (entries: Promise<LogEntry[]>) => entries.then((page) => page.map(toEntry));
    return afterId
      ? this.shared(`after:${afterId}`, () => read(this.log.readAfter(afterId, LOG_PAGE)))
      : this.shared(`since:${sinceMs}`, () => read(this.log.readSince(sinceMs, LOG_PAGE)));
  }

  private shared<T>(key: string, read: () => Promise<T>): Promise<T> {
    let pending = this.reads.get(key) as Promise<T> | undefined;
    if (!pending) {
      const started = (pending = read().finally(() => {
        if (this.reads.get(key) === started) this.reads.delete(key);
      }));
      this.reads.set(key, started);
    }
    return pending;
  }

  /** After a cold start the window is empty: fill it from the log once, for every viewer. */
  private ensureWindow(): Promise<void> {
    this.windowLoad ??= this.loadWindow().catch((err) => {
      this.windowLoad = null;
      throw err;
    });
    return this.windowLoad;
  }

  private async loadWindow(): Promise<void> {
    const sinceMs = this.window.start();
    if (this.window.covers(null, sinceMs)) return;
    const loaded: Entry[] = [];
    let page = await this.log.readSince(sinceMs, LOG_PAGE);
    for (;;) {
      for (const raw of page) {
        const e = toEntry(raw);
        if (this.window.holds(e.key)) break;
        loaded.push(e);
      }
      const last = loaded[loaded.length - 1];
      const covered = this.window.coveredAfter;
      if (page.length < LOG_PAGE || !last || (covered && compareEventIds(last.key, covered) >= 0)) break;
      page = await this.log.readAfter(last.id, LOG_PAGE);
    }
    // Only what is older than the window's first entry: anything newer was committed meanwhile.
    const first = this.window.entries[0];
    const older = first ? loaded.filter((e) => compareEventIds(e.key, first.key) < 0) : loaded;
    this.window.reset([...older, ...this.window.entries], { ms: sinceMs - 1, seq: Number.MAX_SAFE_INTEGER });
  }

  /** Reads what another writer appended after `after` (the poller), up to one page. */
  async readAfter(after: EventId): Promise<Entry[]> {
    return (await this.log.readAfter(formatEventId(after), LOG_PAGE)).map(toEntry);
  }
}
