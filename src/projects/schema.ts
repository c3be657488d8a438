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
  {
    id: 2,
    sql: `
      -- Open WebSockets per stream, as each stream last reported them (a stream with none has no
      -- row). Independent of the project row: with auth off, projects have no row but streams do.
      CREATE TABLE stream_sockets (stream TEXT PRIMARY KEY, open INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
];
