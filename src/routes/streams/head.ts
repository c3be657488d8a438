// HEAD /v1/stream/{project}/{stream}: metadata only; never slides the TTL.
import type { AppContext } from "../../http/context";
import { requireAccess } from "../../auth/access";
import { streamStub } from "../../stream/stub";
import { formatOffset } from "../../protocol/offsets";
import { denyPrivate, orThrow, streamHeaders } from "./response";

export async function headStream(c: AppContext): Promise<Response> {
  const address = c.get("address");
  const access = requireAccess(c, address, "read");
  const head = await streamStub(c.env, address.key).head({ requirePublic: access.kind === "public-only" });
  const result = orThrow(denyPrivate(head, access));
  const headers = streamHeaders(result, result.tail);
  if (result.ttlSeconds !== null) headers.set("Stream-TTL", String(result.ttlSeconds));
  if (result.expiresAt !== null) headers.set("Stream-Expires-At", new Date(result.expiresAt).toISOString());
  if (result.retention !== null) headers.set("Stream-Retention", result.retention);
  headers.set("Stream-Earliest-Offset", formatOffset(result.earliest));
  headers.set("Cache-Control", "no-store");
  return new Response(null, { status: 200, headers });
}
