// SubscriptionDO's only door to SQLite: SQL text, row shapes and row-to-domain mapping.
import { GapsViewSchema, type GapsView } from "../contract/gaps";
import { SubscriptionConfigSchema, type SubscriptionConfig } from "./config";

export interface StreamInfo {
  path: string;
  link_type: "explicit" | "glob";
  acked_offset: string;
  tail_offset: string;
  has_pending: boolean;
}

export interface SubscriptionState {
  id: string;
  incarnation: string;
  owner: string | null;
  config: SubscriptionConfig;
  origin: string;
  createdAt: number;
  tokenSecret: string;
  generation: number;
  wakeId: string | null;
  snapshot: StreamInfo[];
  holder: string | null;
  leaseExpiresAt: number | null;
  deliveryDueAt: number | null;
  attempts: number;
  lastError: string | null;
  status: "active" | "failed";
}

export interface Link {
  path: string;
  streamKey: string;
  explicit: boolean;
  glob: boolean;
  /** An offset, "-1" (found after creation: everything is pending), or null until the link-time tail is known. */
  acked: string | null;
  tail: number;
  /** Gaps retention left (the acked offset jumped to the stream's earliest); absent while none. */
  gaps?: GapsView;
}

type StateRow = {
  sub_id: string;
  incarnation: string;
  owner: string | null;
  config: string;
  origin: string;
  created_at: number;
  token_secret: string;
  generation: number;
  wake_id: string | null;
  snapshot: string | null;
  holder: string | null;
  lease_expires_at: number | null;
  delivery_due_at: number | null;
  attempts: number;
  last_error: string | null;
  status: string;
};

type LinkRow = { path: string; stream_key: string; explicit: number; glob: number; acked: string | null; tail: number; gaps: string | null };

export class SubscriptionRepository {
  constructor(private readonly sql: SqlStorage) {}

  load(): SubscriptionState | null {
    const row = this.sql.exec<StateRow>("SELECT * FROM subscription WHERE id = 1").toArray()[0];
    if (!row) return null;
    return {
      id: row.sub_id,
      incarnation: row.incarnation,
      owner: row.owner,
      config: SubscriptionConfigSchema.parse(JSON.parse(row.config)),
      origin: row.origin,
      createdAt: row.created_at,
      tokenSecret: row.token_secret,
      generation: row.generation,
      wakeId: row.wake_id,
      snapshot: row.snapshot ? (JSON.parse(row.snapshot) as StreamInfo[]) : [],
      holder: row.holder,
      leaseExpiresAt: row.lease_expires_at,
      deliveryDueAt: row.delivery_due_at,
      attempts: row.attempts,
      lastError: row.last_error,
      status: row.status === "failed" ? "failed" : "active",
    };
  }

  save(state: SubscriptionState, canonicalConfig: string): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO subscription (id, sub_id, incarnation, owner, config, origin, created_at, token_secret, generation,
         wake_id, snapshot, holder, lease_expires_at, delivery_due_at, attempts, last_error, status)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      state.id,
      state.incarnation,
      state.owner,
      canonicalConfig,
      state.origin,
      state.createdAt,
      state.tokenSecret,
      state.generation,
      state.wakeId,
      state.wakeId ? JSON.stringify(state.snapshot) : null,
      state.holder,
      state.leaseExpiresAt,
      state.deliveryDueAt,
      state.attempts,
      state.lastError,
      state.status,
    );
  }

  /** Drops the subscription and its links; the outbox stays (it holds the calls that clean up after it). */
  wipe(): void {
    this.sql.exec("DELETE FROM subscription");
    this.sql.exec("DELETE FROM links");
  }

  links(): Link[] {
    return this.sql.exec<LinkRow>("SELECT * FROM links ORDER BY path").toArray().map(toLink);
  }

  /** The paths of the explicit links (those named by the configuration or added since). */
  explicitPaths(): string[] {
    return this.sql.exec<{ path: string }>("SELECT path FROM links WHERE explicit = 1").toArray().map((row) => row.path);
  }

  /** Up to `limit` links after `after` (all from the first when null), in path order. */
  linksAfter(after: string | null, limit: number): Link[] {
    return this.sql.exec<LinkRow>("SELECT * FROM links WHERE path > ? ORDER BY path LIMIT ?", after ?? "", limit).toArray().map(toLink);
  }

  /** How many links are explicit, and how many only the pattern's. */
  linkCounts(): { explicit: number; globOnly: number } {
    return this.sql
      .exec<{ explicit: number; globOnly: number }>("SELECT COALESCE(SUM(explicit), 0) AS explicit, COALESCE(SUM(1 - explicit), 0) AS globOnly FROM links")
      .one();
  }

  link(path: string): Link | null {
    const row = this.sql.exec<LinkRow>("SELECT * FROM links WHERE path = ?", path).toArray()[0];
    return row ? toLink(row) : null;
  }

  saveLink(link: Link): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO links (path, stream_key, explicit, glob, acked, tail, gaps) VALUES (?, ?, ?, ?, ?, ?, ?)",
      link.path,
      link.streamKey,
      link.explicit ? 1 : 0,
      link.glob ? 1 : 0,
      link.acked,
      link.tail,
      link.gaps === undefined ? null : JSON.stringify(link.gaps),
    );
  }

  deleteLink(path: string): void {
    this.sql.exec("DELETE FROM links WHERE path = ?", path);
  }
}

function toLink(row: LinkRow): Link {
  const link: Link = { path: row.path, streamKey: row.stream_key, explicit: row.explicit === 1, glob: row.glob === 1, acked: row.acked, tail: row.tail };
  return row.gaps === null ? link : { ...link, gaps: GapsViewSchema.parse(JSON.parse(row.gaps)) };
}
