// The estuary routes, mounted at /v1/estuary: subscriptions, estuaries, and a source's fan-out status.
import { Hono } from "hono";
import { authenticate } from "../../auth/access";
import { ApiError } from "../../errors";
import { ADDRESS_PATHS, streamAddress } from "../../http/address";
import type { AppEnv } from "../../http/context";
import { projectCors } from "../../http/security";
import { getEstuary, removeEstuary } from "./estuary";
import { subscribeEstuary } from "./subscribe";
import { enableSinkRoute, getSink } from "./sinks";
import { putCommitPolicy } from "./policy";
import { getFanoutStatus } from "./subscribers";
import { unsubscribeEstuary } from "./unsubscribe";

export function estuaryRoutes(): Hono<AppEnv> {
  const estuary = new Hono<AppEnv>();
  // Each route carries its own middleware, so that only the first route matching a path runs:
  // "subscribe/x" is stream x of the default project on the subscribe route, never estuary x of a
  // project "subscribe" (those two names cannot be projects here). OPTIONS is a CORS preflight,
  // answered by projectCors.
  const guard = [streamAddress, projectCors, authenticate] as const;
  for (const path of ADDRESS_PATHS) {
    estuary.on(["POST", "DELETE", "OPTIONS"], `/subscribe${path}`, ...guard, (c) =>
      c.req.method === "POST" ? subscribeEstuary(c) : unsubscribeEstuary(c),
    );
    estuary.on(["GET", "OPTIONS"], `/subscribers${path}`, ...guard, getFanoutStatus);
    estuary.on(["PUT", "OPTIONS"], `/policy${path}`, ...guard, putCommitPolicy);
    estuary.on(["GET", "OPTIONS"], `/sinks${path}/:sinkId`, ...guard, getSink);
    estuary.on(["POST", "OPTIONS"], `/sinks${path}/:sinkId/enable`, ...guard, enableSinkRoute);
  }
  for (const path of ADDRESS_PATHS) {
    estuary.on(["GET", "DELETE", "OPTIONS"], path, ...guard, (c) => (c.req.method === "DELETE" ? removeEstuary(c) : getEstuary(c)));
  }
  estuary.all("*", () => {
    throw new ApiError("bad_request", "estuary paths are /subscribe/{project}/{stream}, /subscribers/{project}/{stream}, /policy/{project}/{stream}, /sinks/{project}/{stream}/{sinkId} or /{project}/{estuaryId}");
  });
  return estuary;
}
