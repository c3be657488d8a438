// POST /v1/estuary/subscribe/{project}/{stream} {"estuaryId" | "estuaryIds", "from"?, "public"?,
// "envelope"?, "typePrefix"?}:
// subscribe one estuary to a source, or up to 1,000 at once with a result for each (a body naming
// a "sink" creates a data sink instead: sinks.ts).
import type { AppContext } from "../../http/context";
import { requireProjectScope, requireToken } from "../../auth/access";
import { enforceRateLimit } from "../../auth/rate-limit";
import { loadConfig } from "../../config";
import { DEFAULT_TYPE_PREFIX } from "../../protocol/cloudevents";
import { addressOf, type StreamAddress } from "../../protocol/stream-address";
import { subscribe, type SubscribeResult } from "../../estuary/manage";
import { MAX_BULK_JSON_BODY_BYTES } from "../../http/json-body";
import { z } from "zod";
import { parseFrom, readJson, SubscribeBodySchema } from "./schemas";
import { isSinkBody, parseBody } from "./sink-schemas";
import { subscribeSink } from "./sinks";

export async function subscribeEstuary(c: AppContext): Promise<Response> {
  const source = c.get("address");
  requireToken(c, source, "read");
  requireProjectScope(c, source.project, "write");
  const raw = await readJson(c.req.raw, z.unknown(), MAX_BULK_JSON_BODY_BYTES);
  if (isSinkBody(raw)) return subscribeSink(c, raw);
  const body = parseBody(raw, SubscribeBodySchema);
  const ids = body.estuaryIds ?? (body.estuaryId === undefined ? [] : [body.estuaryId]);
  const estuaries = ids.map((id) => addressOf(source.project, id));
  for (const estuary of estuaries) requireToken(c, estuary, "write");
  await enforceRateLimit(c, "subscribe", source.project);
  const cloudEvents = body.envelope === "cloudevents" ? { typePrefix: body.typePrefix ?? DEFAULT_TYPE_PREFIX } : undefined;
  const options = { from: parseFrom(body.from), public: body.public ?? false, required: body.required ?? true, cloudEvents };
  const results = await subscribe(c.env, loadConfig(c.env), source, estuaries, options);

  if (body.estuaryIds === undefined) {
    const [result] = results;
    if (!result) throw new Error("a subscribe of one estuary has one result");
    if (!result.ok) throw result.error;
    return c.json(subscribed(source, result.estuary), result.created ? 201 : 200);
  }
  return c.json({ source: source.stream, results: results.map(describe) });
}

function subscribed(source: StreamAddress, estuary: StreamAddress) {
  return { source: source.stream, estuaryId: estuary.stream, stream: `/v1/stream/${estuary.key}` };
}

function describe(result: SubscribeResult) {
  const estuaryId = result.estuary.stream;
  const stream = `/v1/stream/${result.estuary.key}`;
  if (!result.ok) return { estuaryId, stream, status: "failed" as const, error: { code: result.error.code, message: result.error.message } };
  return { estuaryId, stream, status: result.created ? ("created" as const) : ("existing" as const) };
}
