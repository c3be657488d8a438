// What the listing routes answer, shared by the registries that hold the facts (the project's
// stream registry, the deployment's project directory) and the admin routes that page through them.
import { z } from "zod";

/** How a stream was made: by a client (`plain`) or by an estuary subscription (`estuary`). */
export const StreamKindSchema = z.enum(["plain", "estuary"]);
export type StreamKind = z.infer<typeof StreamKindSchema>;

/** A registered stream's kind; `unknown` for streams registered before the registry recorded kinds. */
export const ListedKindSchema = z.enum([...StreamKindSchema.options, "unknown"]);

/**
 * Rows per page, at most: a page is one indexed range read of the registry (rows read cost a
 * thousandth of rows written, PLATFORM.md) and a response well under a megabyte (names are at most
 * 128 characters), so a thousand is cheap; the default keeps an unbounded client's answer small.
 */
export const MAX_PAGE = 1_000;
export const DEFAULT_PAGE = 100;

export interface Page<T> {
  items: T[];
  /** The last name of this page when more may follow, else null: pass it as `after`. */
  next: string | null;
}

/** Cuts `limit + 1` rows read in name order to a page and its cursor. */
export function pageOf<T>(rows: T[], limit: number, nameOf: (row: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next: rows.length > limit && last !== undefined ? nameOf(last) : null };
}
