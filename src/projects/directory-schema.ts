// ProjectDirectoryDO's schema, as an append-only list of migrations. Never edit an applied entry.
import type { Migration } from "../storage/migrations";

export const DIRECTORY_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    sql: `
      -- The deployment's projects, one row per project created through the admin API (its
      -- ProjectDO writes it through its outbox). name is the key the listing pages by.
      CREATE TABLE projects (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
];
