// Builds the edge Worker's Hono app: middleware every response gets, the resource sub-apps, and the
// one place errors become responses.
import { Hono } from "hono";
import { ApiError, errorResponse } from "./errors";
import type { AppEnv } from "./http/context";
import { headerLimit, openCors, securityHeaders } from "./http/security";
import { adminRoutes } from "./routes/admin";
import { connectionRoutes } from "./routes/connections";
import { estuaryRoutes } from "./routes/estuary";
import { health } from "./routes/health";
import { presenceRoutes } from "./routes/presence";
import { serveOpenApi } from "./routes/openapi";
import { streamRoutes } from "./routes/streams";
import { DS_PREFIX, subscriptionRoutes } from "./routes/subscriptions";

export function buildApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", securityHeaders, headerLimit, openCors);

  app.get("/", (c) => c.json({ service: "durable-estuary", protocol: "durable-streams" }));
  // Touches no Durable Object: a probe of the Worker alone, cheap enough for any monitor's rate.
  app.get("/health", health);
  app.get("/v1/openapi.json", serveOpenApi);
  app.route("/v1/admin", adminRoutes());
  // Before the stream routes: `__ds` is the protocol's reserved control namespace, never a stream.
  app.route(DS_PREFIX, subscriptionRoutes());
  app.route("/v1/stream", streamRoutes());
  app.route("/v1/estuary", estuaryRoutes());
  app.route("/v1/connections", connectionRoutes());
  app.route("/v1/presence", presenceRoutes());

  app.notFound(() => errorResponse("not_found", "no such route"));
  app.onError((error, c) => {
    if (error instanceof ApiError) return errorResponse(error.code, error.message, error.headers, error.details);
    console.error(`unhandled error on ${c.req.method} ${c.req.path}`, error);
    return errorResponse("internal", "internal error");
  });
  return app;
}
