// Every SQL statement an object runs goes through this meter, which adds up the rows each cursor
// read and wrote: Cloudflare bills those rows (GET …/stats shows the totals as `storage`).
// workerd counts them on the cursor as it is consumed, so cursors are tallied later, once their
// statements have run (the code here consumes every cursor before it runs the next statement).

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
  private pending: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];

  constructor(private readonly storage: SqlStorage) {}

  exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> {
    // A long run of statements between two reads of the totals is tallied as it goes.
    if (this.pending.length >= 256) this.tally();
    const cursor = this.storage.exec<T>(query, ...bindings);
    this.pending.push(cursor as unknown as SqlStorageCursor<Record<string, SqlStorageValue>>);
    return cursor;
  }

  /** Rows read and written since the object started, and the database's size. */
  use(): StorageUse {
    this.tally();
    return { rowsRead: this.read, rowsWritten: this.written, bytes: this.storage.databaseSize };
  }

  private tally(): void {
    for (const c of this.pending) {
      this.read += c.rowsRead;
      this.written += c.rowsWritten;
    }
    this.pending = [];
  }
}
