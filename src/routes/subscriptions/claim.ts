// POST /v1/stream/__ds/subscriptions/{id}/claim {"worker"}: a pull-wake worker claims the pending wake
// and gets its callback token and lease. Auth on: `read` in the subscription's project.
import { subscriptionStub } from "../../env";
import type { AppContext } from "../../http/context";
import { ownerOf } from "./access";
import { ClaimSchema, orThrow, readDsJson } from "./schemas";

export async function claimWake(c: AppContext): Promise<Response> {
  const owner = ownerOf(c, "read");
  const body = await readDsJson(c, ClaimSchema);
  const { ok: _ok, ...claimed } = orThrow(await subscriptionStub(c.env, c.req.param("id") ?? "").claim(owner, body));
  return c.json(claimed);
}
