// ProjectDirectoryDO's only door to SQLite: the deployment's list of projects.
import { pageOf, type Page } from "./listing";

export interface ListedProject {
  project: string;
  createdAt: string;
}

export class DirectoryRepository {
  constructor(private readonly sql: SqlStorage) {}

  /** Idempotent: the project's outbox may make the same call again. */
  add(name: string, createdAt: number): void {
    this.sql.exec("INSERT OR REPLACE INTO projects (name, created_at) VALUES (?, ?)", name, createdAt);
  }

  /** The projects named after `after`, in name order: one range read of the primary key. */
  list(after: string | null, limit: number): Page<ListedProject> {
    const rows = this.sql
      .exec<{ name: string; created_at: number }>("SELECT name, created_at FROM projects WHERE name > ? ORDER BY name LIMIT ?", after ?? "", limit + 1)
      .toArray()
      .map((row) => ({ project: row.name, createdAt: new Date(row.created_at).toISOString() }));
    return pageOf(rows, limit, (row) => row.project);
  }
}
