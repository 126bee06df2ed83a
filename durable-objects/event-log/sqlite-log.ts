// The zero-config event log: entries kept in the dashboard Durable Object's own SQLite
// storage, used when no Upstash credentials are configured.
import { compareEventIds, formatEventId, parseEventId, type EventName } from "../../contract/index.ts";
import type { LogEntry } from "../../core/rpc.ts";
import type { EventLog } from "./event-log.ts";

type Row = { ms: number; seq: number; event: string; data: string } & Record<string, SqlStorageValue>;

export class SqliteEventLog implements EventLog {
  readonly backend = "durable-object-sqlite" as const;
  readonly inObjectStorage = true;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS events (
      ms INTEGER NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, data TEXT NOT NULL,
      PRIMARY KEY (ms, seq)) WITHOUT ROWID`);
    sql.exec(`CREATE TABLE IF NOT EXISTS log_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  }

  async append(entries: LogEntry[]): Promise<void> {
    for (const e of entries) {
      const id = parseEventId(e.id)!;
      this.sql.exec("INSERT INTO events (ms, seq, event, data) VALUES (?, ?, ?, ?)", id.ms, id.seq, e.event, e.data);
    }
  }

  async readAfter(afterId: string, limit: number): Promise<LogEntry[]> {
    const id = parseEventId(afterId);
    if (!id) throw new TypeError(`bad event id ${afterId}`);
    return this.rows(
      "SELECT ms, seq, event, data FROM events WHERE ms > ? OR (ms = ? AND seq > ?) ORDER BY ms, seq LIMIT ?",
      id.ms,
      id.ms,
      id.seq,
      limit,
    );
  }

  async readSince(sinceMs: number, limit: number): Promise<LogEntry[]> {
    return this.rows("SELECT ms, seq, event, data FROM events WHERE ms >= ? ORDER BY ms, seq LIMIT ?", sinceMs, limit);
  }

  async lastId(): Promise<string | null> {
    const [row] = this.sql.exec<Row>("SELECT ms, seq FROM events ORDER BY ms DESC, seq DESC LIMIT 1").toArray();
    return row ? formatEventId(row) : null;
  }

  async trimmedThrough(): Promise<string | null> {
    const [row] = this.sql.exec<{ value: string }>("SELECT value FROM log_meta WHERE key = 'trimmedThrough'").toArray();
    return row?.value ?? null;
  }

  async trim(minMs: number): Promise<void> {
    const [last] = this.sql.exec<Row>("SELECT ms, seq FROM events WHERE ms < ? ORDER BY ms DESC, seq DESC LIMIT 1", minMs).toArray();
    if (!last) return;
    this.sql.exec("DELETE FROM events WHERE ms < ?", minMs);
    const prev = parseEventId(await this.trimmedThrough());
    if (!prev || compareEventIds(last, prev) > 0) {
      this.sql.exec("INSERT OR REPLACE INTO log_meta (key, value) VALUES ('trimmedThrough', ?)", formatEventId(last));
    }
  }

  private rows(query: string, ...bindings: SqlStorageValue[]): LogEntry[] {
    return this.sql
      .exec<Row>(query, ...bindings)
      .toArray()
      .map((r) => ({ id: formatEventId(r), event: r.event as EventName, data: r.data }));
  }
}
