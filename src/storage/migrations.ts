// Applies an object's append-only list of SQL migrations, recording each applied id.
// (DO SQLite has no PRAGMA user_version, so the record is a table.)

export interface Migration {
  id: number;
  sql: string;
}

export function applyMigrations(storage: DurableObjectStorage, migrations: readonly Migration[]): void {
  storage.transactionSync(() => {
    storage.sql.exec("CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    const row = storage.sql.exec<{ last: number | null }>("SELECT MAX(id) AS last FROM _migrations").one();
    const last = row.last ?? 0;
    for (const migration of migrations) {
      if (migration.id <= last) continue;
      storage.sql.exec(migration.sql);
      storage.sql.exec("INSERT INTO _migrations (id, applied_at) VALUES (?, ?)", migration.id, Date.now());
    }
  });
}

/**
 * Creates an object's schema lazily, on its first write. An object that is only ever read (a
 * probe of a random stream or project name) therefore stores nothing. Existing objects are
 * upgraded as soon as they start.
 */
export class LazySchema {
  private ready: boolean;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly migrations: readonly Migration[],
  ) {
    this.ready = storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").toArray().length > 0;
    if (this.ready) applyMigrations(storage, migrations);
  }

  /** False until something was written: every read can answer "nothing here" without SQL. */
  get exists(): boolean {
    return this.ready;
  }

  ensure(): void {
    if (this.ready) return;
    applyMigrations(this.storage, this.migrations);
    this.ready = true;
  }
}
