// DELETE /v1/stream/{project}/{stream}: delete (soft-delete while forks still read the data).
import type { AppContext } from "../../http/context";
import { requireToken } from "../../auth/access";
import { streamStub } from "../../stream/stub";
import { orThrow } from "./response";

export async function deleteStream(c: AppContext): Promise<Response> {
  const address = c.get("address");
  requireToken(c, address, "manage");
  orThrow(await streamStub(c.env, address.key).delete());
  return new Response(null, { status: 204 });
}
