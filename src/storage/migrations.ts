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
