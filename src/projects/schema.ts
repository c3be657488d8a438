// ProjectDO's schema, as an append-only list of migrations. Never edit an applied entry.
import type { Migration } from "../storage/migrations";
import { OUTBOX_TABLE_V1 } from "../storage/outbox";

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
  {
    id: 3,
    sql: `
      -- The project's stream registry, for subscriptions: the streams that exist (each stream
      -- registers on create and leaves on delete, through its outbox) and the stream globs
      -- subscriptions watch, so a new stream finds the subscriptions it matches.
      -- generation: the stream's, so a late "deleted" of an old generation never unregisters a new one.
      CREATE TABLE registry_streams (name TEXT PRIMARY KEY, generation INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE registry_watches (
        subscription TEXT NOT NULL,
        incarnation TEXT NOT NULL,
        glob TEXT NOT NULL,              -- "*", "**" or a literal stream name
        PRIMARY KEY (subscription, glob)
      ) WITHOUT ROWID;
      CREATE INDEX registry_watches_glob ON registry_watches (glob);
    `,
  },
  {
    id: 4,
    sql: `
      -- Sweeps closing the WebSockets of revoked secrets' tokens (revocations.ts): one row per sweep
      -- over the streams holding sockets, deleted when it is done. after: the last stream told.
      CREATE TABLE revocation_sweeps (id INTEGER PRIMARY KEY, kid TEXT NOT NULL, due_at INTEGER NOT NULL, after TEXT);
    `,
  },
  {
    id: 5,
    sql: `
      -- A stream's kind ('plain' or 'estuary'), as it registered, so listings never ask the stream.
      -- Rows registered before kinds were recorded stay NULL, listed as 'unknown': the registry
      -- cannot know what they are without waking them, and guessing 'plain' would be wrong for estuaries.
      ALTER TABLE registry_streams ADD COLUMN kind TEXT;
    `,
  },
  {
    id: 6,
    // Calls this project owes other objects because of a change it committed (the project directory).
    sql: OUTBOX_TABLE_V1,
  },
  {
    id: 7,
    sql: `
      -- The auth providers whose tokens the project accepts (issuers.ts), by their iss; config is
      -- the JSON of IssuerSchema.
      CREATE TABLE issuers (issuer TEXT PRIMARY KEY, config TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    id: 8,
    sql: `
      -- Revoked tokens, by jti or by user, until expires_at (token-revocations.ts).
      CREATE TABLE token_revocations (kind TEXT NOT NULL, value TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (kind, value)) WITHOUT ROWID;
      -- A sweep now closes the sockets of a secret ('kid', the value in column kid, as before), a jti or a user.
      ALTER TABLE revocation_sweeps ADD COLUMN kind TEXT NOT NULL DEFAULT 'kid';
    `,
  },
  {
    id: 9,
    sql: `
      -- The retention policy new streams of the project get when their PUT names none (a canonical
      -- Stream-Retention value; NULL: they keep everything).
      ALTER TABLE project ADD COLUMN retention TEXT;
    `,
  },
];
