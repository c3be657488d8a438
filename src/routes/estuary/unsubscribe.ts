// DELETE /v1/estuary/subscribe/{project}/{stream} {"estuaryId"}: end one subscription (a body naming a
// "sinkId" removes that data sink instead: sinks.ts).
import type { AppContext } from "../../http/context";
import { requireProjectScope, requireToken } from "../../auth/access";
import { addressOf } from "../../protocol/stream-address";
import { unsubscribe } from "../../estuary/manage";
import { z } from "zod";
import { readJson, UnsubscribeBodySchema } from "./schemas";
import { parseBody } from "./sink-schemas";
import { unsubscribeSink } from "./sinks";

export async function unsubscribeEstuary(c: AppContext): Promise<Response> {
  const source = c.get("address");
  requireProjectScope(c, source.project, "write");
  const raw = await readJson(c.req.raw, z.unknown());
  if (typeof raw === "object" && raw !== null && "sinkId" in raw) return unsubscribeSink(c, raw);
  const body = parseBody(raw, UnsubscribeBodySchema);
  const estuary = addressOf(source.project, body.estuaryId);
  requireToken(c, estuary, "write");
  await unsubscribe(c.env, source, estuary);
  return new Response(null, { status: 204 });
}
