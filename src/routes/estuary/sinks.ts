// Data sinks of a source stream (manage scope on the source):
// POST /v1/estuary/subscribe/{project}/{stream} {"sink": {...}, "required"?, "from"?} creates one,
// DELETE on the same route {"sinkId"} removes it (both dispatched here by subscribe.ts/unsubscribe.ts),
// GET /v1/estuary/sinks/{project}/{stream}/{sinkId} (read scope) its state and last attempts,
// POST /v1/estuary/sinks/{project}/{stream}/{sinkId}/enable resumes it.
import { requireToken } from "../../auth/access";
import { enforceRateLimit } from "../../auth/rate-limit";
import { loadConfig } from "../../config";
import type { AppContext } from "../../http/context";
import { DEFAULT_TYPE_PREFIX } from "../../sinks/envelope";
import { createSink, describeSink, enableSink, removeSink } from "../../sinks/manage";
import { parseFrom } from "./schemas";
import { parseBody, parseSinkId, SinkSubscribeBodySchema, SinkUnsubscribeBodySchema } from "./sink-schemas";

export async function subscribeSink(c: AppContext, raw: unknown): Promise<Response> {
  const source = c.get("address");
  requireToken(c, source, "manage");
  const body = parseBody(raw, SinkSubscribeBodySchema);
  await enforceRateLimit(c, "subscribe", source.project);
  const { sink } = body;
  const config = { url: sink.url, envelope: sink.envelope ?? "raw", typePrefix: sink.typePrefix ?? DEFAULT_TYPE_PREFIX, required: body.required ?? true };
  const made = await createSink(c.env, loadConfig(c.env), source, { id: sink.id, config, from: parseFrom(body.from) });
  return made.created ? c.json({ sink: made.view, secret: made.secret }, 201) : c.json({ sink: made.view }, 200);
}

export async function unsubscribeSink(c: AppContext, raw: unknown): Promise<Response> {
  const source = c.get("address");
  requireToken(c, source, "manage");
  const { sinkId } = parseBody(raw, SinkUnsubscribeBodySchema);
  await removeSink(c.env, source, sinkId);
  return new Response(null, { status: 204 });
}

export async function getSink(c: AppContext): Promise<Response> {
  const source = c.get("address");
  requireToken(c, source, "read");
  return c.json(await describeSink(c.env, source, parseSinkId(c.req.param("sinkId"))));
}

export async function enableSinkRoute(c: AppContext): Promise<Response> {
  const source = c.get("address");
  requireToken(c, source, "manage");
  return c.json(await enableSink(c.env, source, parseSinkId(c.req.param("sinkId"))));
}
