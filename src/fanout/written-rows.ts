// The rows the subscribers object writes, as SQLite counts (and bills) them, tallied between saves of
// the fanout row, which books them into the `subscriberRowsWritten` cost counter.

export class WrittenRows {
  private unsaved = 0;

  constructor(private readonly sql: SqlStorage) {}

  /** Runs a statement on the object's SQLite, counting the rows it writes (a read writes none). */
  exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> {
    const cursor = this.sql.exec<T>(query, ...bindings);
    this.unsaved += cursor.rowsWritten;
    return cursor;
  }

  /** The rows written since the last take. */
  take(): number {
    const rows = this.unsaved;
    this.unsaved = 0;
    return rows;
  }
}
