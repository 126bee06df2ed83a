// Every SQL statement an object runs goes through this meter, which adds up the rows each cursor
// read and wrote: Cloudflare bills those rows (GET …/stats shows the totals as `storage`).
// workerd counts them on the cursor as it is consumed, so a cursor is tallied when the next
// statement runs (the code here consumes every cursor before it runs the next statement), and
// the meter never holds more than one: a cursor may hold its rows.

/** What the object's modules use of SqlStorage: statements, metered. */
export type Sql = Pick<SqlStorage, "exec">;

export interface StorageUse {
  rowsRead: number;
  rowsWritten: number;
  /** The object's SQLite database, in bytes. */
  bytes: number;
}

export class StorageMeter implements Sql {
  private read = 0;
  private written = 0;
  private pending: SqlStorageCursor<Record<string, SqlStorageValue>> | null = null;

  constructor(private readonly storage: SqlStorage) {}

  exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> {
    this.tally();
    const cursor = this.storage.exec<T>(query, ...bindings);
    this.pending = cursor as unknown as SqlStorageCursor<Record<string, SqlStorageValue>>;
    return cursor;
  }

  /** Rows read and written since the object started, and the database's size. */
  use(): StorageUse {
    this.tally();
    return { rowsRead: this.read, rowsWritten: this.written, bytes: this.storage.databaseSize };
  }

  private tally(): void {
    if (!this.pending) return;
    this.read += this.pending.rowsRead;
    this.written += this.pending.rowsWritten;
    this.pending = null;
  }
}
