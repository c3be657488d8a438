// POST /v1/estuary/subscribe/{project}/{stream} {"estuaryId","from"?}: subscribe an estuary to a source
// (a body naming a "sink" creates a data sink instead: sinks.ts).
import type { AppContext } from "../../http/context";
import { requireProjectScope, requireToken } from "../../auth/access";
import { enforceRateLimit } from "../../auth/rate-limit";
import { loadConfig } from "../../config";
import { addressOf } from "../../protocol/stream-address";
import { subscribe } from "../../estuary/subscriptions";
import { z } from "zod";
import { parseFrom, readJson, SubscribeBodySchema } from "./schemas";
import { isSinkBody, parseBody } from "./sink-schemas";
import { subscribeSink } from "./sinks";

export async function subscribeEstuary(c: AppContext): Promise<Response> {
  const source = c.get("address");
  requireToken(c, source, "read");
  requireProjectScope(c, source.project, "write");
  const raw = await readJson(c.req.raw, z.unknown());
  if (isSinkBody(raw)) return subscribeSink(c, raw);
  const body = parseBody(raw, SubscribeBodySchema);
  const estuary = addressOf(source.project, body.estuaryId);
  requireToken(c, estuary, "write");
  await enforceRateLimit(c, "subscribe", source.project);
  const options = { from: parseFrom(body.from), public: body.public ?? false };
  const { created } = await subscribe(c.env, loadConfig(c.env), source, estuary, options);
  return c.json({ source: source.stream, estuaryId: estuary.stream, stream: `/v1/stream/${estuary.key}` }, created ? 201 : 200);
}
