// The presence routes, mounted at /v1/presence: a stream's present users, its presence log, and the
// data sinks that log feeds.
// `/{project}/{stream}` as on the connection routes (a default-project stream is `/default/{stream}`).
import { Hono } from "hono";
import { authenticate } from "../../auth/access";
import { ApiError, errorResponse } from "../../errors";
import { streamAddress } from "../../http/address";
import type { AppEnv } from "../../http/context";
import { projectCors } from "../../http/security";
import { readPresenceEvents } from "./events";
import { presenceSink, presenceSinks } from "./sinks";
import { getPresence } from "./snapshot";

export function presenceRoutes(): Hono<AppEnv> {
  const presence = new Hono<AppEnv>();
  presence.on(["GET", "OPTIONS"], "/:project/:stream", streamAddress, projectCors, authenticate, getPresence);
  presence.on(["GET", "OPTIONS"], "/:project/:stream/events", streamAddress, projectCors, authenticate, readPresenceEvents);
  presence.on(["POST", "DELETE", "OPTIONS"], "/:project/:stream/sinks", streamAddress, projectCors, authenticate, presenceSinks);
  presence.on(["GET", "OPTIONS"], "/:project/:stream/sinks/:sinkId", streamAddress, projectCors, authenticate, presenceSink);
  presence.on(["POST", "OPTIONS"], "/:project/:stream/sinks/:sinkId/enable", streamAddress, projectCors, authenticate, presenceSink);
  for (const path of ["/:project/:stream", "/:project/:stream/events", "/:project/:stream/sinks", "/:project/:stream/sinks/:sinkId", "/:project/:stream/sinks/:sinkId/enable"]) {
    presence.all(path, (c) => errorResponse("method_not_allowed", `${c.req.method} is not supported on presence`));
  }
  presence.all("*", () => {
    throw new ApiError("bad_request", "presence paths are /{project}/{stream}, /{project}/{stream}/events or /{project}/{stream}/sinks[/{sinkId}[/enable]]");
  });
  return presence;
}
