// ProjectDO's only door to SQLite.
import type { ProjectConnections } from "./connections";

export interface ProjectRecord {
  name: string;
  createdAt: number;
  corsOrigins: string[];
}

export interface SigningKey {
  kid: string;
  secret: string;
  createdAt: number;
}

export class ProjectRepository {
  constructor(private readonly sql: SqlStorage) {}

  load(): ProjectRecord | null {
    const row = this.sql
      .exec<{ name: string; created_at: number; cors_origins: string }>("SELECT * FROM project WHERE id = 1")
      .toArray()[0];
    return row ? { name: row.name, createdAt: row.created_at, corsOrigins: JSON.parse(row.cors_origins) as string[] } : null;
  }

  save(project: ProjectRecord): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO project (id, name, created_at, cors_origins) VALUES (1, ?, ?, ?)",
      project.name,
      project.createdAt,
      JSON.stringify(project.corsOrigins),
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

  connections(): ProjectConnections {
    const row = this.sql.exec<{ sockets: number; streams: number }>("SELECT COALESCE(SUM(open), 0) AS sockets, COUNT(*) AS streams FROM stream_sockets").one();
    return { webSockets: row.sockets, streamsWithWebSockets: row.streams };
  }
}
