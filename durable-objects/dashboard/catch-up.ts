// What a viewer is sent before it goes live: history (the last N seconds) or, on a resume,
// exactly what it missed after its Last-Event-ID, with a gap notice when some of that is no
// longer retained. Served from the in-memory window where it reaches, from the log beyond it,
// read newest first down to a byte budget (a long history of a log-heavy dashboard costs the
// budget, not the log); the window is filled once for every viewer, and a log read in flight is
// shared by every catch-up that asks the same.
import { compareEventIds, formatEventId, parseEventId, type EventId, type Gap } from "../../contract/index.ts";
import type { EventLog } from "../event-log/event-log.ts";
import { toEntry, type Entry } from "../streams/fanout.ts";
import { entryBytes, RecentWindow, WINDOW_MAX_BYTES, WINDOW_MAX_ENTRIES } from "../streams/recent-window.ts";

const LOG_PAGE = 1000;
/** A read back starts with this many entries, and sizes the next pages to the budget left. */
const FIRST_PAGE = 100;
/**
 * The most a catch-up sends from the log (payload bytes), the newest events before the window:
 * the hour before it of 1 Hz samples of 32 metrics fits; a log-heavy dashboard's older lines are
 * announced by a `gap` instead, so no reconnect holds more than a few times this in memory.
 */
export const CATCH_UP_MAX_BYTES = 4 * 1024 * 1024;

const payloadBytes = (e: Entry): number => e.data.length;

/** The id just after `id`: a read back from before it starts at `id`. */
function successor(id: EventId): EventId {
  return id.seq < Number.MAX_SAFE_INTEGER - 1 ? { ms: id.ms, seq: id.seq + 1 } : { ms: id.ms + 1, seq: 0 };
}

/** Events pushed oldest first, keeping the newest within a byte budget; `dropped`: the newest let go. */
class NewestWithin {
  readonly entries: Entry[] = [];
  dropped: EventId | null = null;
  private bytes = 0;
  private head = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly size: (e: Entry) => number,
  ) {}

  push(e: Entry): void {
    this.entries.push(e);
    this.bytes += this.size(e);
    while (this.bytes > this.maxBytes && this.head < this.entries.length) {
      const gone = this.entries[this.head++]!;
      this.bytes -= this.size(gone);
      this.dropped = gone.key;
    }
    // Compact now and then rather than shifting on every drop.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }

  kept(): Entry[] {
    return this.head === 0 ? this.entries : this.entries.slice(this.head);
  }
}

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
    const unknown = (): Gap => ({ lastEventId: rawResume!, oldestId: null, message: "unknown event id; sending recent history instead" });
    let gap: Gap | null = null;
    /** Whether the log must show that `after` was issued (the window cannot, and no trim took it). */
    let verify = false;

    if (after) {
      const last = this.lastCommitted();
      if (last === null || compareEventIds(after, last) > 0 || this.window.lacks(after)) {
        // An id this dashboard never issued (its log was reset): say so, then send history.
        gap = unknown();
        after = null;
      } else if (!this.window.covers(after, sinceMs)) {
        // Only a resume point older than the window can have lost events to trimming; the
        // common reconnect is served from memory without touching the log (even while it is down).
        const trimmed = parseEventId(await this.shared("trimmed", () => this.log.trimmedThrough()));
        if (trimmed && compareEventIds(after, trimmed) < 0) {
          gap = { lastEventId: rawResume!, oldestId: formatEventId(trimmed), message: "events after this id are no longer retained" };
          after = trimmed;
        } else verify = true;
      }
    }

    let read = await this.logPart(after, sinceMs, cancelled, verify);
    if (read === "unknown") {
      gap = unknown();
      read = await this.logPart(null, sinceMs, cancelled, false);
    }
    if (read === null || read === "unknown") return null;
    if (read.dropped && rawResume && parseEventId(rawResume)) {
      const oldestId = formatEventId(read.dropped);
      gap = {
        lastEventId: rawResume,
        oldestId,
        message: `events after this id up to ${oldestId} are not replayed: more than ${CATCH_UP_MAX_BYTES / 1048576} MB to send`,
      };
    }
    const logged = read.kept();
    if (logged.length > limit) return { gap, logged: logged.slice(0, limit), after: logged[limit - 1]!.key, sinceMs, complete: false };
    return { gap, logged, after: read.from, sinceMs, complete: true };
  }

  /**
   * From the log: whatever the window does not cover after `after` (or since `sinceMs`), the
   * newest CATCH_UP_MAX_BYTES of it, read newest first; again if the window let more go while
   * the log was read. With `verify`, "unknown" when the log shows `after` was never issued.
   */
  private async logPart(
    after: EventId | null,
    sinceMs: number,
    cancelled: () => boolean,
    verify: boolean,
  ): Promise<(NewestWithin & { from: EventId | null }) | "unknown" | null> {
    let read = new NewestWithin(CATCH_UP_MAX_BYTES, payloadBytes);
    let from = after;
    while (!this.window.covers(from, sinceMs)) {
      const through = this.window.coveredAfter!;
      const lower = from;
      const back = await this.readBack(through, (id) => (lower ? compareEventIds(id, lower) <= 0 : id.ms < sinceMs), {
        size: payloadBytes,
        maxBytes: CATCH_UP_MAX_BYTES,
        cancelled,
      });
      if (!back) return null;
      // Every id ever issued is in the log or was trimmed: reaching below `after` without meeting it proves it never was.
      if (verify && lower && !back.cut && (!back.stoppedAt || compareEventIds(back.stoppedAt, lower) !== 0)) return "unknown";
      verify = false;
      if (back.cut) {
        // Everything read before is older than what this read had to let go.
        read = new NewestWithin(CATCH_UP_MAX_BYTES, payloadBytes);
        read.dropped = back.cut;
      }
      for (const e of back.entries) read.push(e);
      from = through;
    }
    return Object.assign(read, { from });
  }

  /**
   * The log from `through` (inclusive; the window holds what is newer) back to the first entry
   * `stop` accepts, newest first, until `maxBytes` or `maxEntries`: ascending, `cut`, the newest
   * entry let go, and `stoppedAt`, the entry `stop` accepted (null: the log ended first). Pages are shared with every identical read in flight (the reconnect
   * storm after a deploy reads back from the same place). Null when `cancelled` turns true.
   */
  private async readBack(
    through: EventId,
    stop: (id: EventId) => boolean,
    budget: { size: (e: Entry) => number; maxBytes: number; maxEntries?: number; cancelled?: () => boolean },
  ): Promise<{ entries: Entry[]; cut: EventId | null; stoppedAt: EventId | null } | null> {
    const kept: Entry[] = [];
    let bytes = 0;
    let before = formatEventId(successor(through));
    // Pages sized to what the budget still takes, by the entries seen so far: a page of large
    // log lines must not load several times the budget only to let most of it go.
    let size = FIRST_PAGE;
    for (;;) {
      const [from, limit] = [before, size];
      const page = await this.shared(`before:${from}:${limit}`, () => this.log.readBefore(from, limit).then((p) => p.map(toEntry)));
      if (budget.cancelled?.()) return null;
      for (const e of page) {
        if (stop(e.key)) return { entries: kept.reverse(), cut: null, stoppedAt: e.key };
        bytes += budget.size(e);
        if (bytes > budget.maxBytes || kept.length >= (budget.maxEntries ?? Infinity))
          return { entries: kept.reverse(), cut: e.key, stoppedAt: null };
        kept.push(e);
      }
      if (page.length < limit) return { entries: kept.reverse(), cut: null, stoppedAt: null };
      before = page[page.length - 1]!.id;
      const perEntry = bytes / kept.length;
      size = Math.max(FIRST_PAGE, Math.min(LOG_PAGE, Math.ceil((budget.maxBytes - bytes) / perEntry) + 1));
    }
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
  ensureWindow(): Promise<void> {
    this.windowLoad ??= this.loadWindow().catch((err) => {
      this.windowLoad = null;
      throw err;
    });
    return this.windowLoad;
  }

  private async loadWindow(): Promise<void> {
    const sinceMs = this.window.start();
    if (this.window.covers(null, sinceMs)) return;
    const through = this.window.coveredAfter!;
    const back = (await this.readBack(through, (id) => id.ms < sinceMs, {
      size: entryBytes,
      maxBytes: WINDOW_MAX_BYTES,
      maxEntries: WINDOW_MAX_ENTRIES,
    }))!;
    // Events committed meanwhile went into the window; if it let any go, the loaded ones no longer join up.
    const now = this.window.coveredAfter;
    if (!now || compareEventIds(now, through) !== 0) return;
    this.window.reset([...back.entries, ...this.window.entries], back.cut ?? { ms: sinceMs - 1, seq: Number.MAX_SAFE_INTEGER });
  }

  /** Reads what another writer appended after `after` (the poller), up to one page. */
  async readAfter(after: EventId): Promise<Entry[]> {
    return (await this.log.readAfter(formatEventId(after), LOG_PAGE)).map(toEntry);
  }
}
