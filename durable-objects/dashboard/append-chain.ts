// The dashboard object's write path to its event log: accepted events wait in an outbox (in
// the object's own SQLite when the log is remote, so an accepted event survives an eviction),
// one chain appends them in id order, and each appended batch is handed on to be delivered.
// While the log fails, the outbox is kept and retried with backoff and the health says so.
import { compareEventIds, formatEventId, type EventId, type EventLogHealth, type EventName } from "../../contract/index.ts";
import type { EventLog } from "../event-log/event-log.ts";
import { toEntry, type Entry } from "../streams/fanout.ts";

const RETRY_APPEND_MS = [500, 1000, 2000, 5000];
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

  constructor(
    private readonly log: EventLog,
    private readonly sql: SqlStorage,
    private readonly retentionSeconds: () => number,
    /** A batch is in the log: deliver it and record it as committed. */
    private readonly onCommit: (batch: Entry[]) => void,
    /** Runs on every sweep, after the log's trim (the object trims its history buckets). */
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
    if (this.outbox.length > 0) this.scheduleRetry();
  }

  /**
   * Queues newly accepted events. With the log in the object's own storage the append is
   * immediate and awaited; a remote log may be slow or down, so the events are made durable in
   * the outbox table first and the append catches up behind the answer.
   */
  async accept(entries: Entry[]): Promise<void> {
    if (!this.log.inObjectStorage) {
      for (const e of entries) {
        this.sql.exec("INSERT INTO outbox (ms, seq, event, data) VALUES (?, ?, ?, ?)", e.key.ms, e.key.seq, e.event, e.data);
      }
    }
    this.outbox.push(...entries);
    if (this.log.inObjectStorage) await this.flush();
    else void this.flush();
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
        if (!this.log.inObjectStorage) {
          const last = batch[batch.length - 1]!.key;
          this.sql.exec("DELETE FROM outbox WHERE ms < ? OR (ms = ? AND seq <= ?)", last.ms, last.ms, last.seq);
        }
      }
      await this.maybeTrim();
    });
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
    try {
      await this.log.trim(now - this.retentionSeconds() * 1000);
    } catch (err) {
      console.warn("event log trim failed", err);
    }
    this.onSweep(now);
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
