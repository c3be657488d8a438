// Builds the edge Worker's Hono app: middleware, routes, and the one place errors become responses.
import { Hono } from "hono";
import { ApiError, errorResponse } from "./errors";
import type { AppEnv } from "./http/context";
import { requireAdmin } from "./routes/admin/guard";
import { addSecret, createProject, getProject, mintToken, revokeSecret, updateProject } from "./routes/admin/projects";
import { authenticate } from "./auth/access";
import { corsMiddleware, headerLimit, securityHeaders } from "./http/security";
import { getEstuary, removeEstuary } from "./routes/estuary/estuary";
import { subscribeEstuary } from "./routes/estuary/subscribe";
import { getFanoutStatus } from "./routes/estuary/subscribers";
import { unsubscribeEstuary } from "./routes/estuary/unsubscribe";
import { deleteStream } from "./routes/streams/delete";
import { readStream } from "./routes/streams/get";
import { headStream } from "./routes/streams/head";
import { appendToStream } from "./routes/streams/post";
import { putStream } from "./routes/streams/put";

export function buildApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", securityHeaders, headerLimit, corsMiddleware);

  // Admin routes authenticate with the deployment's ADMIN_TOKEN, not project tokens.
  app.use("/v1/admin/*", requireAdmin);
  app.post("/v1/admin/projects", createProject);
  app.get("/v1/admin/projects/:project", getProject);
  app.patch("/v1/admin/projects/:project", updateProject);
  app.post("/v1/admin/projects/:project/secrets", addSecret);
  app.delete("/v1/admin/projects/:project/secrets/:kid", revokeSecret);
  app.post("/v1/admin/projects/:project/tokens", mintToken);

  // Everything below knows its caller; each handler then checks what it touches (auth/access.ts).
  app.use("/v1/stream/*", authenticate);
  app.use("/v1/estuary/*", authenticate);

  app.get("/", (c) => c.json({ service: "durable-estuary", protocol: "durable-streams" }));

  // Hono dispatches HEAD through GET routes (dropping the body), so the GET route tells them apart.
  app.get("/v1/stream/*", (c) => (c.req.method === "HEAD" ? headStream(c) : readStream(c)));
  app.put("/v1/stream/*", putStream);
  app.post("/v1/stream/*", appendToStream);
  app.delete("/v1/stream/*", deleteStream);
  app.all("/v1/stream/*", (c) => errorResponse("method_not_allowed", `${c.req.method} is not supported on streams`));

  // The subscribe/subscribers prefixes come first: they would otherwise read as estuary paths.
  app.post("/v1/estuary/subscribe/*", subscribeEstuary);
  app.delete("/v1/estuary/subscribe/*", unsubscribeEstuary);
  app.get("/v1/estuary/subscribers/*", getFanoutStatus);
  app.get("/v1/estuary/*", getEstuary);
  app.delete("/v1/estuary/*", removeEstuary);

  app.notFound(() => errorResponse("not_found", "no such route"));
  app.onError((error, c) => {
    if (error instanceof ApiError) return errorResponse(error.code, error.message, error.headers);
    console.error(`unhandled error on ${c.req.method} ${c.req.path}`, error);
    return errorResponse("internal", "internal error");
  });
  return app;
}
