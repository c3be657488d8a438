// Appends stop with a clear 507 before an object reaches the platform's storage cap (10 GB per
// Durable Object), where SQLite writes would fail and the append would answer a 500.
import { fail, type Failure } from "../errors";

/** Null when `incoming` more bytes fit under `limit` (STREAM_STORAGE_LIMIT_BYTES), else the 507. */
export function storageFull(sql: SqlStorage, incoming: number, limit: number): Failure | null {
  if (sql.databaseSize + incoming <= limit) return null;
  return fail(
    "storage_full",
    "this stream's storage is full: set a retention policy (Stream-Retention on a new stream), or delete the stream and create it again",
  );
}
