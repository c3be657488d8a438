// The project's stream registry (ProjectDO's tables registry_*): which streams exist and which
// stream globs subscriptions watch. It answers the two questions a subscription's links need: "which
// existing streams match this glob" (when a subscription is created) and "which subscriptions match
// this new stream" (when a stream is created), and it lists the project's streams with their kinds
// (the admin listing), so no listing wakes a stream. Appends never come here.
import { MAX_GLOB_LINKS } from "../contract/subscriptions";
import type { Watcher, WatchGlob } from "../contract/subscriptions";
import { z } from "zod";
import { ListedKindSchema, pageOf, type Page, type StreamKind } from "./listing";

export interface ListedStream {
  stream: string;
  kind: z.infer<typeof ListedKindSchema>;
}

export class StreamRegistry {
  constructor(private readonly sql: SqlStorage) {}

  /** Records the stream; returns the subscriptions whose globs match it. */
  addStream(name: string, generation: number, kind: StreamKind): Watcher[] {
    // The kind follows the newest generation: a late registration of an older one changes nothing.
    this.sql.exec(
      `INSERT INTO registry_streams (name, generation, kind) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET
         kind = CASE WHEN excluded.generation >= generation THEN excluded.kind ELSE kind END,
         generation = MAX(generation, excluded.generation)`,
      name,
      generation,
      kind,
    );
    return this.watchersOf(name);
  }

  /** The streams named after `after`, in name order: one range read of the primary key. */
  listStreams(after: string | null, limit: number): Page<ListedStream> {
    const rows = this.sql
      .exec<{ name: string; kind: string | null }>("SELECT name, kind FROM registry_streams WHERE name > ? ORDER BY name LIMIT ?", after ?? "", limit + 1)
      .toArray()
      .map((row) => ({ stream: row.name, kind: ListedKindSchema.catch("unknown").parse(row.kind) }));
    return pageOf(rows, limit, (row) => row.stream);
  }

  isEmpty(): boolean {
    return this.sql.exec("SELECT 1 FROM registry_streams LIMIT 1").toArray().length === 0;
  }

  /** Forgets the stream, unless a later generation of it registered meanwhile (calls may cross). */
  removeStream(name: string, generation: number): void {
    this.sql.exec("DELETE FROM registry_streams WHERE name = ? AND generation <= ?", name, generation);
  }

  watchersOf(name: string): Watcher[] {
    return this.sql
      .exec<{ subscription: string; incarnation: string }>(
        "SELECT DISTINCT subscription, incarnation FROM registry_watches WHERE glob IN ('*', '**') OR glob = ?",
        name,
      )
      .toArray();
  }

  /** Records the glob (replacing an older incarnation's); returns the existing streams it matches. */
  addWatch(watch: WatchGlob): string[] {
    this.sql.exec("DELETE FROM registry_watches WHERE subscription = ? AND incarnation != ?", watch.subscription, watch.incarnation);
    this.sql.exec(
      "INSERT OR REPLACE INTO registry_watches (subscription, incarnation, glob) VALUES (?, ?, ?)",
      watch.subscription,
      watch.incarnation,
      watch.glob,
    );
    if (watch.glob === "*" || watch.glob === "**") {
      return this.sql
        .exec<{ name: string }>("SELECT name FROM registry_streams ORDER BY name LIMIT ?", MAX_GLOB_LINKS)
        .toArray()
        .map((row) => row.name);
    }
    return this.sql.exec<{ name: string }>("SELECT name FROM registry_streams WHERE name = ?", watch.glob).toArray().map((row) => row.name);
  }

  /** Drops one glob of the subscription's incarnation, or all of them when `glob` is null. */
  removeWatch(watch: Watcher, glob: string | null): void {
    if (glob === null) {
      this.sql.exec("DELETE FROM registry_watches WHERE subscription = ? AND incarnation = ?", watch.subscription, watch.incarnation);
    } else {
      this.sql.exec(
        "DELETE FROM registry_watches WHERE subscription = ? AND incarnation = ? AND glob = ?",
        watch.subscription,
        watch.incarnation,
        glob,
      );
    }
  }
}
