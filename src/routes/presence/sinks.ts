// Data sinks fed by a stream's presence log, the stream's "occupied / vacated" and join / leave
// webhooks (the same sinks, bodies and signing as a stream's; the messages are the log's change
// events): POST /v1/presence/{project}/{stream}/sinks {"sink", "required"?, "from"?} creates one
// (manage on the stream; the log is made if nobody joined yet), DELETE on the same path {"sinkId"}
// removes it, GET .../sinks/{sinkId} (read) its state, POST .../sinks/{sinkId}/enable resumes it.
import { z } from "zod";
import { requireToken } from "../../auth/access";
import type { AppContext } from "../../http/context";
import { readJson } from "../../http/json-body";
import { presenceLogAddress } from "../../presence/log-address";
import { ensurePresenceLog } from "../../presence/log-stream";
import { streamStub } from "../../stream/stub";
import { enableSinkRoute, getSink, subscribeSink, unsubscribeSink } from "../estuary/sinks";
import { orThrow } from "../streams/response";

export async function presenceSinks(c: AppContext): Promise<Response> {
  const source = c.get("address");
  requireToken(c, source, "manage");
  const raw = await readJson(c.req.raw, z.unknown());
  onLog(c);
  if (c.req.method === "DELETE") return unsubscribeSink(c, raw);
  // A sink made before the first join starts at the log's beginning; the source must exist.
  orThrow(await streamStub(c.env, source.key).head());
  await ensurePresenceLog(c.env, source.key);
  return subscribeSink(c, raw);
}

export function presenceSink(c: AppContext): Promise<Response> {
  onLog(c);
  return c.req.method === "POST" ? enableSinkRoute(c) : getSink(c);
}

/** The access checks stay on the source's project and name; the stream the sinks follow is its log. */
function onLog(c: AppContext): void {
  c.set("address", presenceLogAddress(c.get("address")));
}
