// Reads the stream address from the route's params once (400 if it is not a valid one) and puts it
// in the context, where handlers, CORS and auth read it.
import { createMiddleware } from "hono/factory";
import { addressOf } from "../protocol/stream-address";
import type { AppEnv } from "./context";

/** The two shapes of a stream address in a route: the default project's, and a project's. */
export const ADDRESS_PATHS = ["/:stream", "/:project/:stream"] as const;

export const streamAddress = createMiddleware<AppEnv>(async (c, next) => {
  c.set("address", addressOf(c.req.param("project"), c.req.param("stream")));
  await next();
});
