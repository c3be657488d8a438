// GET /v1/presence/{project}/{stream}/events: the stream's presence log, a JSON stream of change
// events (presence/events.ts) read like any stream: catch-up, long-poll, SSE and WebSocket, with
// the protocol's offsets. Read scope on the source stream (the log is its companion, never public).
import { ApiError } from "../../errors";
import type { AppContext } from "../../http/context";
import { presenceLogAddress } from "../../presence/log-address";
import { readStream } from "../streams/get";

export async function readPresenceEvents(c: AppContext): Promise<Response> {
  if (c.req.query("presence") !== undefined) throw new ApiError("bad_request", "presence= joins a stream, not its presence log");
  if (c.req.query("user") !== undefined) throw new ApiError("bad_request", "user= names a stream's reader, not a presence log's");
  // The access check stays on the source's project and name; only the object read is the log's.
  c.set("address", presenceLogAddress(c.get("address")));
  return readStream(c);
}
