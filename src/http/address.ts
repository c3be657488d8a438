// Reads the stream address (or, on project routes, the project) from the route's params once (400
// if it is not a valid one) and puts it in the context, where handlers, CORS and auth read it.
import { createMiddleware } from "hono/factory";
import { ApiError } from "../errors";
import { addressOf, isValidName } from "../protocol/stream-address";
import type { AppEnv } from "./context";

/** The two shapes of a stream address in a route: the default project's, and a project's. */
export const ADDRESS_PATHS = ["/:stream", "/:project/:stream"] as const;

export const streamAddress = createMiddleware<AppEnv>(async (c, next) => {
  const address = addressOf(c.req.param("project"), c.req.param("stream"));
  c.set("address", address);
  c.set("project", address.project);
  await next();
});

/** For routes about a whole project, `/:project`. */
export const projectAddress = createMiddleware<AppEnv>(async (c, next) => {
  const project = c.req.param("project");
  if (project === undefined || !isValidName(project)) {
    throw new ApiError("bad_request", "project names are 1-128 characters of A-Z a-z 0-9 . _ ~ -");
  }
  c.set("project", project);
  await next();
});
