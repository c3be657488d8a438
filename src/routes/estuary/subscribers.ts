// GET /v1/estuary/subscribers/{project}/{stream}: the source's fan-out status.
import type { AppContext } from "../../http/context";
import { requireToken } from "../../auth/access";
import { parseAddress } from "../../protocol/stream-address";
import { formatOffset } from "../../protocol/offsets";
import { fanoutStatus } from "../../estuary/subscriptions";

export const SUBSCRIBERS_PREFIX = "/v1/estuary/subscribers/";

export async function getFanoutStatus(c: AppContext): Promise<Response> {
  const source = parseAddress(c.req.path.slice(SUBSCRIBERS_PREFIX.length));
  requireToken(c, source, "read");
  const status = await fanoutStatus(c.env, source);
  return c.json({
    subscribers: status.subscribers,
    mode: status.mode,
    breaker: status.breaker,
    fannedOutOffset: formatOffset(status.fannedOutPosition),
    targetOffset: formatOffset(status.targetPosition),
    pendingRepairs: status.pendingRepairs,
    cost: status.cost,
  });
}
