// The zod primitives every boundary shares (RPC inputs, queue bodies, HTTP bodies), so a count or an
// offset means the same thing, within the same bounds, on both sides of every call.
import { z } from "zod";

/** A count or a stream position: a non-negative integer that survives JSON and SQLite exactly. */
export const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A stream offset as the protocol writes it (`formatOffset` in protocol/offsets.ts). */
export const OffsetString = z.string().regex(/^\d{16}_\d{16}$/).meta({ description: "a stream offset" });
