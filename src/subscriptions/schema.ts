// SubscriptionDO's schema, as an append-only list of migrations. Never edit an applied entry.
import type { Migration } from "../storage/migrations";
import { OUTBOX_TABLE_V1 } from "../storage/outbox";

export const SUBSCRIPTION_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    sql: `
      -- The subscription, with its wake, lease and webhook retry state: everything the alarm needs
      -- after an eviction or a restart.
      CREATE TABLE subscription (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        sub_id TEXT NOT NULL,
        incarnation TEXT NOT NULL,       -- new each time the id is created again
        owner TEXT,                      -- the project whose token created it (auth on), else NULL
        config TEXT NOT NULL,            -- canonical JSON (config.ts)
        origin TEXT NOT NULL,            -- for callback URLs in webhook bodies
        created_at INTEGER NOT NULL,
        token_secret TEXT NOT NULL,      -- signs callback tokens
        generation INTEGER NOT NULL,     -- wake generation, the fencing epoch
        wake_id TEXT,                    -- the outstanding wake, if any
        snapshot TEXT,                   -- the wake's stream infos, as JSON
        holder TEXT,                     -- pull-wake: the worker holding the claim
        lease_expires_at INTEGER,
        delivery_due_at INTEGER,         -- webhook: the next POST attempt
        attempts INTEGER NOT NULL,       -- webhook: failed attempts of the outstanding wake
        last_error TEXT,
        status TEXT NOT NULL             -- active | failed (the last webhook attempt failed)
      );
      -- The streams the subscription covers. acked is an offset or "-1"; NULL until the tail at
      -- link time is known. tail is the last position the stream reported.
      CREATE TABLE links (
        path TEXT PRIMARY KEY,
        stream_key TEXT NOT NULL,
        explicit INTEGER NOT NULL,
        glob INTEGER NOT NULL,
        acked TEXT,
        tail INTEGER NOT NULL
      ) WITHOUT ROWID;
      ${OUTBOX_TABLE_V1}
    `,
  },
  {
    id: 2,
    sql: `
      -- Gaps retention left in a link (subscription-do.ts streamTrimmed): the stream trimmed past the
      -- acked offset (past its hold caps), the acked offset jumped to the earliest; as JSON.
      ALTER TABLE links ADD COLUMN gaps TEXT;
    `,
  },
];
