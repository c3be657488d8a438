// GET /v1/connections/{project}/{stream}: the stream's open connections by kind (read scope on the stream).
import { requireToken } from "../../auth/access";
import { streamStub } from "../../stream/stub";
import type { AppContext } from "../../http/context";
import { orThrow } from "../streams/response";
import type { StreamConnectionsBody } from "./schemas";

export async function getStreamConnections(c: AppContext): Promise<Response> {
  const address = c.get("address");
  requireToken(c, address, "read");
  const { webSocket, sse, longPoll } = orThrow(await streamStub(c.env, address.key).connections());
  const body: StreamConnectionsBody = { webSocket, sse, longPoll };
  return c.json(body);
}
