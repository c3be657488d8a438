// The connection routes, mounted at /v1/connections: open connections of a stream, and a project's
// open WebSockets. `/{project}` names a project here, so a stream of the default project is
// `/default/{stream}` (there is no one-segment stream form, unlike the stream routes).
import { Hono } from "hono";
import { authenticate } from "../../auth/access";
import { ApiError, errorResponse } from "../../errors";
import { projectAddress, streamAddress } from "../../http/address";
import type { AppEnv } from "../../http/context";
import { projectCors } from "../../http/security";
import { getProjectConnections } from "./project";
import { getStreamConnections } from "./stream";

export function connectionRoutes(): Hono<AppEnv> {
  const connections = new Hono<AppEnv>();
  // OPTIONS is a CORS preflight, answered by projectCors.
  connections.on(["GET", "OPTIONS"], "/:project", projectAddress, projectCors, authenticate, getProjectConnections);
  connections.on(["GET", "OPTIONS"], "/:project/:stream", streamAddress, projectCors, authenticate, getStreamConnections);
  for (const path of ["/:project", "/:project/:stream"]) {
    connections.all(path, (c) => errorResponse("method_not_allowed", `${c.req.method} is not supported on connections`));
  }
  connections.all("*", () => {
    throw new ApiError("bad_request", "connection paths are /{project} or /{project}/{stream}");
  });
  return connections;
}
