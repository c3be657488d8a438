// A token's presence `info`: a small JSON object (a display name, an avatar URL) shown with its
// user in the stream's presence (snapshot and join events). It comes only from a verified token,
// never from the client. Minted and self-signed project tokens with a malformed one are refused;
// an issuer's token with a claim of that name that does not fit is read as having none (a third
// party's claim is not ours to refuse a token for).
import { z } from "zod";

export const PRESENCE_INFO_CLAIM = "info";
/** The bound: small enough for every member row and join event. */
export const MAX_PRESENCE_INFO_BYTES = 1_024;

export const PresenceInfoSchema = z
  .record(z.string(), z.unknown())
  .refine((info) => new TextEncoder().encode(JSON.stringify(info)).byteLength <= MAX_PRESENCE_INFO_BYTES, `info must be a JSON object of at most ${MAX_PRESENCE_INFO_BYTES} bytes`);
export type PresenceInfo = z.infer<typeof PresenceInfoSchema>;

/** An issuer token's info claim if it fits, else null. */
export function lenientInfo(raw: unknown): PresenceInfo | null {
  const parsed = PresenceInfoSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}
