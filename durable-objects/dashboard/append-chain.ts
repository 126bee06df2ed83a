// The dashboard object's write path to its event log: one chain appends accepted events in id
// order, and each appended batch is handed on to be delivered. With the log in the object's own
// SQLite an append is the write. A remote log is appended before the publish answers, if it
// answers within INLINE_APPEND_MS; when it is slow or failing the events are kept in an outbox in
// the object's SQLite instead (durable across an eviction: a publish that answered is never
// lost), retried with backoff, and the health says so. Writing the outbox only then saves two
// rows per event when all is well, and a publish never waits long on a remote log.
import { compareEventIds, formatEventId, type EventId, type EventLogHealth, type EventName } from "../../contract/index.ts";
import type { EventLog } from "../event-log/event-log.ts";
import type { Sql } from "../storage/meter.ts";
import { toEntry, type Entry } from "../streams/fanout.ts";

const RETRY_APPEND_MS = [500, 1000, 2000, 5000];
/** How long a publish waits for a remote log before it makes its events durable in the outbox. */
const INLINE_APPEND_MS = 500;
// Trimming costs log commands (three with Upstash): every 5 minutes keeps that near 1 % of the
// appends at 1 Hz. Retention is an hour, so a few minutes late does not matter.
const TRIM_EVERY_MS = 5 * 60_000;

export class AppendChain {
  /** Events accepted but not yet in the log, in id order. */
  outbox: Entry[] = [];
  /** Settles once everything queued on it so far has run. */
  chain: Promise<void> = Promise.resolve();
  health: EventLogHealth;
  lastTrimAt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  /** The newest outbox entry written to the outbox table (remote logs, while they fail). */
  private persisted: EventId | null = null;

  constructor(
    private readonly log: EventLog,
    private readonly sql: Sql,
    private readonly retentionSeconds: () => number,
    /** A batch is in the log: deliver it and record it as committed. */
    private readonly onCommit: (batch: Entry[]) => void,
    /** Runs on every sweep, before the log's trim (the object writes and trims its history buckets). */
    private readonly onSweep: (now: number) => void = () => {},
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS outbox (
      ms INTEGER NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, data TEXT NOT NULL,
      PRIMARY KEY (ms, seq)) WITHOUT ROWID`);
    this.health = { backend: log.backend, status: "ok" };
  }

  /**
   * After a restart: events accepted but not yet in the log go out first. Ids at or below the
   * log's last id did reach it (the object is its only writer and appends in order).
   */
  restore(committed: EventId | null): void {
    this.outbox = this.sql
      .exec<{ ms: number; seq: number; event: string; data: string }>("SELECT * FROM outbox ORDER BY ms, seq")
      .toArray()
      .map((r) => toEntry({ id: formatEventId(r), event: r.event as EventName, data: r.data }))
      .filter((e) => !committed || compareEventIds(e.key, committed) > 0);
    this.persisted = this.outbox[this.outbox.length - 1]?.key ?? null;
    if (this.outbox.length > 0) this.scheduleRetry();
  }

  /**
   * Queues newly accepted events and returns once they are durable: appended to the log, or,
   * with a remote log that is failing, written to the outbox table to be appended later.
   */
  async accept(entries: Entry[]): Promise<void> {
    this.outbox.push(...entries);
    if (this.log.inObjectStorage) return this.flush();
    // While the log is failing, do not wait on it: the retries append what waits.
    if (this.health.status === "ok" && !this.retryTimer) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, INLINE_APPEND_MS)));
      await Promise.race([this.flush(), late]);
      clearTimeout(timer);
      if (!this.outbox.includes(entries[0]!)) return;
    }
    this.persist();
  }

  /** Runs `task` on the chain, after every append queued before it. */
  then(task: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(task);
    return this.chain;
  }

  /** Appends the outbox in order, then delivers; on failure keeps it and retries with backoff. */
  flush(): Promise<void> {
    return this.then(async () => {
      while (this.outbox.length > 0) {
        const batch = this.outbox.slice();
        try {
          await this.log.append(batch);
        } catch (err) {
          this.degrade(err);
          this.scheduleRetry();
          return;
        }
        this.outbox.splice(0, batch.length);
        this.recover();
        this.onCommit(batch);
        const last = batch[batch.length - 1]!.key;
        if (this.persisted && compareEventIds(this.persisted, batch[0]!.key) >= 0) {
          this.sql.exec("DELETE FROM outbox WHERE ms < ? OR (ms = ? AND seq <= ?)", last.ms, last.ms, last.seq);
          if (compareEventIds(this.persisted, last) <= 0) this.persisted = null;
        }
      }
      await this.maybeTrim();
    });
  }

  /** Writes the outbox entries not yet in the outbox table (a remote log is failing). */
  private persist(): void {
    for (const e of this.outbox) {
      if (this.persisted && compareEventIds(e.key, this.persisted) <= 0) continue;
      this.sql.exec("INSERT OR IGNORE INTO outbox (ms, seq, event, data) VALUES (?, ?, ?, ?)", e.key.ms, e.key.seq, e.event, e.data);
      this.persisted = e.key;
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    const delay = RETRY_APPEND_MS[Math.min(Math.max(this.failures - 1, 0), RETRY_APPEND_MS.length - 1)]!;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.flush();
    }, delay);
  }

  private async maybeTrim(): Promise<void> {
    const now = Date.now();
    if (now - this.lastTrimAt < TRIM_EVERY_MS) return;
    this.lastTrimAt = now;
    this.onSweep(now);
    try {
      await this.log.trim(now - this.retentionSeconds() * 1000);
    } catch (err) {
      console.warn("event log trim failed", err);
    }
  }

  degrade(err: unknown): void {
    this.failures++;
    const reason = err instanceof Error ? err.message : String(err);
    if (this.health.status !== "degraded") console.error(`event log degraded: ${reason}`);
    this.health = { backend: this.log.backend, status: "degraded", reason };
  }

  recover(): void {
    if (this.health.status === "ok") return;
    this.failures = 0;
    this.health = { backend: this.log.backend, status: "ok" };
  }
}
