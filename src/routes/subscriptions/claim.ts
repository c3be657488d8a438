// POST /v1/stream/__ds/subscriptions/{id}/claim {"worker"}: a pull-wake worker claims the pending wake
// and gets its callback token and lease. Auth on: `read` in the subscription's project,
// with a token reaching every stream the subscription covers.
import { subscriptionStub } from "../../subscriptions/stub";
import type { AppContext } from "../../http/context";
import { reachOf } from "./access";
import { ClaimSchema, orThrow, readDsJson } from "./schemas";

export async function claimWake(c: AppContext): Promise<Response> {
  const reach = reachOf(c, "read");
  const body = await readDsJson(c, ClaimSchema);
  const { ok: _ok, ...claimed } = orThrow(await subscriptionStub(c.env, c.req.param("id") ?? "").claim(reach, body));
  return c.json(claimed);
}
