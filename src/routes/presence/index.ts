// The presence routes, mounted at /v1/presence: a stream's present users, and its presence log.
// `/{project}/{stream}` as on the connection routes (a default-project stream is `/default/{stream}`).
import { Hono } from "hono";
import { authenticate } from "../../auth/access";
import { ApiError, errorResponse } from "../../errors";
import { streamAddress } from "../../http/address";
import type { AppEnv } from "../../http/context";
import { projectCors } from "../../http/security";
import { readPresenceEvents } from "./events";
import { getPresence } from "./snapshot";

export function presenceRoutes(): Hono<AppEnv> {
  const presence = new Hono<AppEnv>();
  presence.on(["GET", "OPTIONS"], "/:project/:stream", streamAddress, projectCors, authenticate, getPresence);
  presence.on(["GET", "OPTIONS"], "/:project/:stream/events", streamAddress, projectCors, authenticate, readPresenceEvents);
  for (const path of ["/:project/:stream", "/:project/:stream/events"]) {
    presence.all(path, (c) => errorResponse("method_not_allowed", `${c.req.method} is not supported on presence`));
  }
  presence.all("*", () => {
    throw new ApiError("bad_request", "presence paths are /{project}/{stream} or /{project}/{stream}/events");
  });
  return presence;
}
