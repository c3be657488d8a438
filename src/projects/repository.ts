// ProjectDO's only door to SQLite.
import type { ProjectConnections } from "./connections";
import { RevokedSchema, type Revoked } from "./token-revocations";

export interface ProjectRecord {
  name: string;
  createdAt: number;
  corsOrigins: string[];
  /** New streams' retention policy when their PUT names none (canonical Stream-Retention), or null. */
  retention: string | null;
}

export interface SigningKey {
  kid: string;
  secret: string;
  createdAt: number;
}

/** A revocation's sweep over the streams holding sockets (revocations.ts). */
export interface Sweep {
  id: number;
  /** Whose sockets close: a secret's kid, a token's jti or a user (stored in columns kind and kid). */
  target: Revoked;
  dueAt: number;
  /** The last stream told, or null before the first. */
  after: string | null;
}

export class ProjectRepository {
  constructor(private readonly sql: SqlStorage) {}

  load(): ProjectRecord | null {
    const row = this.sql
      .exec<{ name: string; created_at: number; cors_origins: string; retention: string | null }>("SELECT * FROM project WHERE id = 1")
      .toArray()[0];
    if (!row) return null;
    return { name: row.name, createdAt: row.created_at, corsOrigins: JSON.parse(row.cors_origins) as string[], retention: row.retention };
  }

  save(project: ProjectRecord): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO project (id, name, created_at, cors_origins, retention) VALUES (1, ?, ?, ?, ?)",
      project.name,
      project.createdAt,
      JSON.stringify(project.corsOrigins),
      project.retention,
    );
  }

  keys(): SigningKey[] {
    return this.sql
      .exec<{ kid: string; secret: string; created_at: number }>("SELECT * FROM secrets ORDER BY created_at")
      .toArray()
      .map((row) => ({ kid: row.kid, secret: row.secret, createdAt: row.created_at }));
  }

  addKey(key: SigningKey): void {
    this.sql.exec("INSERT INTO secrets (kid, secret, created_at) VALUES (?, ?, ?)", key.kid, key.secret, key.createdAt);
  }

  removeKey(kid: string): boolean {
    return this.sql.exec("DELETE FROM secrets WHERE kid = ?", kid).rowsWritten > 0;
  }

  /** A stream's open WebSockets; a stream with none has no row, so the table holds only streams with some. */
  saveSockets(stream: string, open: number): void {
    if (open === 0) this.sql.exec("DELETE FROM stream_sockets WHERE stream = ?", stream);
    else this.sql.exec("INSERT OR REPLACE INTO stream_sockets (stream, open) VALUES (?, ?)", stream, open);
  }

  /** Streams holding sockets, by name, after `after`. */
  streamsWithSockets(after: string | null, limit: number): string[] {
    return this.sql
      .exec<{ stream: string }>("SELECT stream FROM stream_sockets WHERE stream > ? ORDER BY stream LIMIT ?", after ?? "", limit)
      .toArray()
      .map((row) => row.stream);
  }

  addSweep(target: Revoked, dueAt: number): void {
    this.sql.exec("INSERT INTO revocation_sweeps (kind, kid, due_at, after) VALUES (?, ?, ?, NULL)", target.kind, target.value, dueAt);
  }

  nextSweepDue(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT MIN(due_at) AS at FROM revocation_sweeps").one().at;
  }

  dueSweep(now: number): Sweep | null {
    const row = this.sql
      .exec<{ id: number; kind: string; kid: string; due_at: number; after: string | null }>("SELECT * FROM revocation_sweeps WHERE due_at <= ? ORDER BY due_at, id LIMIT 1", now)
      .toArray()[0];
    return row ? { id: row.id, target: RevokedSchema.parse({ kind: row.kind, value: row.kid }), dueAt: row.due_at, after: row.after } : null;
  }

  saveSweep(sweep: Sweep): void {
    this.sql.exec("UPDATE revocation_sweeps SET due_at = ?, after = ? WHERE id = ?", sweep.dueAt, sweep.after, sweep.id);
  }

  deleteSweep(id: number): void {
    this.sql.exec("DELETE FROM revocation_sweeps WHERE id = ?", id);
  }

  connections(): ProjectConnections {
    const row = this.sql.exec<{ sockets: number; streams: number }>("SELECT COALESCE(SUM(open), 0) AS sockets, COUNT(*) AS streams FROM stream_sockets").one();
    return { webSockets: row.sockets, streamsWithWebSockets: row.streams };
  }
}
