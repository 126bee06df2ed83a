// The zero-config event log: entries kept in the dashboard Durable Object's own SQLite storage,
// used when no Upstash credentials are configured.
//
// Entries are stored in chunks, several to a row: Cloudflare bills rows written, and a row per
// event would be written twice (appended, then trimmed). An append adds its entries to the newest
// chunk (one row written) until the chunk holds CHUNK_BYTES or spans CHUNK_SPAN_MS; trimming
// deletes whole chunks and rewrites the one that straddles the cut. A chunk's body is its entries,
// one per line, `<id>\t<event>\t<data>`: data is JSON text, in which a raw tab or line break
// never occurs.
import { compareEventIds, formatEventId, parseEventId, type EventId, type EventName } from "../../contract/index.ts";
import type { LogEntry } from "../../core/rpc.ts";
import type { Sql } from "../storage/meter.ts";
import type { EventLog } from "./event-log.ts";

/** A chunk takes appends until it holds this many bytes… */
export const CHUNK_BYTES = 32 * 1024;
/** …or its entries span this long. */
export const CHUNK_SPAN_MS = 10 * 60_000;

interface Chunk {
  first_ms: number;
  first_seq: number;
  last_ms: number;
  last_seq: number;
  bytes: number;
  body: string;
}
type Row = Chunk & Record<string, SqlStorageValue>;

export class SqliteEventLog implements EventLog {
  readonly backend = "durable-object-sqlite" as const;
  readonly inObjectStorage = true;
  /** The newest chunk's key and size (loaded at the first append). */
  private head: { first: EventId; bytes: number } | null | undefined;
  /** Bytes of every chunk, against `maxBytes` (loaded at the first append). */
  private total: number | undefined;

  /** @param maxBytes MAX_LOG_BYTES: past it the oldest chunks go, as trimming would take them. */
  constructor(
    private readonly sql: Sql,
    private readonly maxBytes = Infinity,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS event_chunks (
      first_ms INTEGER NOT NULL, first_seq INTEGER NOT NULL, last_ms INTEGER NOT NULL, last_seq INTEGER NOT NULL,
      bytes INTEGER NOT NULL, body TEXT NOT NULL,
      PRIMARY KEY (first_ms, first_seq)) WITHOUT ROWID`);
    sql.exec(`CREATE TABLE IF NOT EXISTS log_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    this.migrateRowPerEvent();
  }

  async append(entries: LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    this.head ??= this.loadHead();
    this.total ??= this.sql.exec<{ total: number | null }>("SELECT SUM(bytes) AS total FROM event_chunks").one().total ?? 0;
    let lines: string[] = [];
    let bytes = 0;
    const put = () => {
      if (lines.length === 0) return;
      const first = parseEventId(lines[0]!.slice(0, lines[0]!.indexOf("\t")))!;
      const end = parseEventId(lines[lines.length - 1]!.slice(0, lines[lines.length - 1]!.indexOf("\t")))!;
      const body = lines.join("\n");
      const head = this.head;
      const fits = head && head.bytes + bytes <= CHUNK_BYTES && end.ms - head.first.ms <= CHUNK_SPAN_MS;
      if (fits) {
        this.sql.exec(
          "UPDATE event_chunks SET body = body || char(10) || ?, bytes = bytes + ?, last_ms = ?, last_seq = ? WHERE first_ms = ? AND first_seq = ?",
          body,
          bytes,
          end.ms,
          end.seq,
          head.first.ms,
          head.first.seq,
        );
        head.bytes += bytes;
      } else {
        this.sql.exec(
          "INSERT INTO event_chunks (first_ms, first_seq, last_ms, last_seq, bytes, body) VALUES (?, ?, ?, ?, ?, ?)",
          first.ms,
          first.seq,
          end.ms,
          end.seq,
          bytes,
          body,
        );
        this.head = { first, bytes };
      }
      this.total! += bytes;
      lines = [];
      bytes = 0;
    };
    for (const e of entries) {
      if (/[\t\n]/.test(e.event) || e.data.includes("\n")) throw new TypeError(`event ${e.id} cannot be stored on one line`);
      const line = `${e.id}\t${e.event}\t${e.data}`;
      if (bytes > 0 && bytes + line.length + 1 > CHUNK_BYTES) put();
      lines.push(line);
      bytes += line.length + 1;
    }
    put();
    while (this.total > this.maxBytes && this.dropOldest());
  }

  async readAfter(afterId: string, limit: number): Promise<LogEntry[]> {
    const after = parseEventId(afterId);
    if (!after) throw new TypeError(`bad event id ${afterId}`);
    return this.read((id) => compareEventIds(id, after) > 0, after.ms, after.seq, limit);
  }

  async readSince(sinceMs: number, limit: number): Promise<LogEntry[]> {
    return this.read((id) => id.ms >= sinceMs, sinceMs, -1, limit);
  }

  async lastId(): Promise<string | null> {
    const [row] = this.sql.exec<Row>("SELECT last_ms, last_seq FROM event_chunks ORDER BY first_ms DESC, first_seq DESC LIMIT 1").toArray();
    return row ? formatEventId({ ms: row.last_ms, seq: row.last_seq }) : null;
  }

  async trimmedThrough(): Promise<string | null> {
    const [row] = this.sql.exec<{ value: string }>("SELECT value FROM log_meta WHERE key = 'trimmedThrough'").toArray();
    return row?.value ?? null;
  }

  async trim(minMs: number): Promise<void> {
    let removed: EventId | null = null;
    const gone = this.sql
      .exec<Row>("SELECT last_ms, last_seq, bytes FROM event_chunks WHERE last_ms < ? ORDER BY first_ms, first_seq", minMs)
      .toArray();
    if (gone.length > 0) {
      const newest = gone[gone.length - 1]!;
      removed = { ms: newest.last_ms, seq: newest.last_seq };
      this.sql.exec("DELETE FROM event_chunks WHERE last_ms < ?", minMs);
      if (this.total !== undefined) for (const c of gone) this.total -= c.bytes;
      this.head = undefined; // it may have been one of them: read it again at the next append
    }
    // The chunk that straddles the cut keeps only its newer entries.
    const [straddling] = this.sql
      .exec<Row>("SELECT * FROM event_chunks WHERE first_ms < ? AND last_ms >= ? LIMIT 1", minMs, minMs)
      .toArray();
    if (straddling) {
      const lines = straddling.body.split("\n");
      const keep = lines.filter((line) => parseEventId(line.slice(0, line.indexOf("\t")))!.ms >= minMs);
      if (keep.length < lines.length) {
        const dropped = lines[lines.length - keep.length - 1]!;
        removed = parseEventId(dropped.slice(0, dropped.indexOf("\t")));
        const bytes = keep.reduce((n, line) => n + line.length + 1, 0);
        this.sql.exec(
          "UPDATE event_chunks SET body = ?, bytes = ? WHERE first_ms = ? AND first_seq = ?",
          keep.join("\n"),
          bytes,
          straddling.first_ms,
          straddling.first_seq,
        );
        if (this.total !== undefined) this.total -= straddling.bytes - bytes;
        if (this.head && this.head.first.ms === straddling.first_ms && this.head.first.seq === straddling.first_seq)
          this.head.bytes = bytes;
      }
    }
    if (removed) this.markTrimmed(removed);
  }

  /** The oldest chunk, dropped for the byte cap. False when only the newest is left. */
  private dropOldest(): boolean {
    const [oldest] = this.sql
      .exec<Row>("SELECT first_ms, first_seq, last_ms, last_seq, bytes FROM event_chunks ORDER BY first_ms, first_seq LIMIT 1")
      .toArray();
    if (!oldest || (this.head && oldest.first_ms === this.head.first.ms && oldest.first_seq === this.head.first.seq)) return false;
    this.sql.exec("DELETE FROM event_chunks WHERE first_ms = ? AND first_seq = ?", oldest.first_ms, oldest.first_seq);
    this.total! -= oldest.bytes;
    this.markTrimmed({ ms: oldest.last_ms, seq: oldest.last_seq });
    return true;
  }

  private markTrimmed(removed: EventId): void {
    const prev = parseEventId(
      this.sql.exec<{ value: string }>("SELECT value FROM log_meta WHERE key = 'trimmedThrough'").toArray()[0]?.value,
    );
    if (!prev || compareEventIds(removed, prev) > 0) {
      this.sql.exec("INSERT OR REPLACE INTO log_meta (key, value) VALUES ('trimmedThrough', ?)", formatEventId(removed));
    }
  }

  async readBefore(beforeId: string | null, limit: number): Promise<LogEntry[]> {
    const before = beforeId === null ? null : parseEventId(beforeId);
    if (beforeId !== null && !before) throw new TypeError(`bad event id ${beforeId}`);
    const out: LogEntry[] = [];
    // Chunks that start before `before`, newest first; the first may also hold newer entries.
    const chunks = before
      ? this.sql.exec<Row>(
          "SELECT * FROM event_chunks WHERE (first_ms, first_seq) < (?, ?) ORDER BY first_ms DESC, first_seq DESC LIMIT ?",
          before.ms,
          before.seq,
          limit + 1,
        )
      : this.sql.exec<Row>("SELECT * FROM event_chunks ORDER BY first_ms DESC, first_seq DESC LIMIT ?", limit);
    // Chunks hold at least one entry each (the first may hold only newer ones, hence `limit + 1`);
    // consumed lazily, so a read stops at the chunk that completes it.
    for (const chunk of chunks) {
      const lines = chunk.body.split("\n");
      for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
        const entry = parseLine(lines[i]!);
        if (!before || compareEventIds(parseEventId(entry.id)!, before) < 0) out.push(entry);
      }
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * Entries that pass `keep`, ascending, at most `limit`: from the chunk that may hold the first
   * of them (the last one that starts at or before `ms-seq`), then the chunks after it, consumed
   * lazily: a page of small entries is a chunk or two, not `limit` of them.
   */
  private read(keep: (id: EventId) => boolean, ms: number, seq: number, limit: number): LogEntry[] {
    const out: LogEntry[] = [];
    const take = (chunk: Row) => {
      for (const line of chunk.body.split("\n")) {
        if (out.length >= limit) return;
        const entry = parseLine(line);
        if (keep(parseEventId(entry.id)!)) out.push(entry);
      }
    };
    const [before] = this.sql
      .exec<Row>("SELECT * FROM event_chunks WHERE (first_ms, first_seq) <= (?, ?) ORDER BY first_ms DESC, first_seq DESC LIMIT 1", ms, seq)
      .toArray();
    if (before) take(before);
    const after = this.sql.exec<Row>(
      "SELECT * FROM event_chunks WHERE (first_ms, first_seq) > (?, ?) ORDER BY first_ms, first_seq LIMIT ?",
      ms,
      seq,
      limit,
    );
    for (const chunk of after) {
      if (out.length >= limit) break;
      take(chunk);
    }
    return out;
  }

  private loadHead(): { first: EventId; bytes: number } | null {
    const [row] = this.sql
      .exec<Row>("SELECT first_ms, first_seq, bytes FROM event_chunks ORDER BY first_ms DESC, first_seq DESC LIMIT 1")
      .toArray();
    return row ? { first: { ms: row.first_ms, seq: row.first_seq }, bytes: row.bytes } : null;
  }

  /** Once: an object whose log is still a row per event (the first layout) moves it into chunks. */
  private migrateRowPerEvent(): void {
    const [table] = this.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'events'").toArray();
    if (!table) return;
    let after = { ms: -1, seq: -1 };
    for (;;) {
      const rows = this.sql
        .exec<{ ms: number; seq: number; event: string; data: string }>(
          "SELECT ms, seq, event, data FROM events WHERE (ms, seq) > (?, ?) ORDER BY ms, seq LIMIT 1000",
          after.ms,
          after.seq,
        )
        .toArray();
      if (rows.length === 0) break;
      void this.append(rows.map((r) => ({ id: formatEventId(r), event: r.event as EventName, data: r.data })));
      after = rows[rows.length - 1]!;
    }
    this.sql.exec("DROP TABLE events");
  }
}

/** One stored line, `<id>\t<event>\t<data>`, as an entry. */
function parseLine(line: string): LogEntry {
  const a = line.indexOf("\t");
  const b = line.indexOf("\t", a + 1);
  return { id: line.slice(0, a), event: line.slice(a + 1, b) as EventName, data: line.slice(b + 1) };
}
