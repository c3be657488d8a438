// ProjectDO's schema, as an append-only list of migrations. Never edit an applied entry.
import type { Migration } from "../storage/migrations";

export const PROJECT_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    sql: `
      CREATE TABLE project (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        cors_origins TEXT NOT NULL      -- JSON array of allowed browser origins
      );
      -- Signing secrets for the project's tokens. Several at once allow rotation; revoking deletes.
      CREATE TABLE secrets (kid TEXT PRIMARY KEY, secret TEXT NOT NULL, created_at INTEGER NOT NULL);
    `,
  },
];
