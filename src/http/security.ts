// Browser-facing headers on every response: nosniff, CORP and CORS for the protocol's headers.
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { loadConfig } from "../config";
import { ApiError } from "../errors";
import { projectAuth } from "../projects/cache";
import type { AppContext, AppEnv } from "./context";
import { DEFAULT_PROJECT, isValidName } from "../protocol/stream-address";

const PROTOCOL_REQUEST_HEADERS = [
  "Content-Type",
  "Authorization",
  "If-None-Match",
  "Stream-TTL",
  "Stream-Expires-At",
  "Stream-Seq",
  "Stream-Closed",
  "Stream-Public",
  "Stream-Forked-From",
  "Stream-Fork-Offset",
  "Stream-Fork-Sub-Offset",
  "Producer-Id",
  "Producer-Epoch",
  "Producer-Seq",
];

const PROTOCOL_RESPONSE_HEADERS = [
  "ETag",
  "Location",
  "Stream-Next-Offset",
  "Stream-Up-To-Date",
  "Stream-Cursor",
  "Stream-Closed",
  "Stream-TTL",
  "Stream-Expires-At",
  "Stream-SSE-Data-Encoding",
  "Producer-Epoch",
  "Producer-Seq",
  "Producer-Expected-Seq",
  "Producer-Received-Seq",
];

/**
 * With auth off any origin may call. With auth on, only the origins the path's project allows
 * (a disallowed origin gets no Access-Control-Allow-Origin, so the browser blocks it).
 */
async function allowedOrigin(origin: string, c: AppContext): Promise<string | null> {
  const config = loadConfig(c.env);
  if (config.AUTH_MODE === "off") return "*";
  if (!origin) return null;
  const project = projectOfPath(c.req.path);
  if (!project) return null;
  const auth = await projectAuth(c.env, project, config.AUTH_CACHE_MS);
  return auth?.corsOrigins.includes(origin) ? origin : null;
}

/** The project a /v1/stream or /v1/estuary path belongs to; a single name is the default project. */
function projectOfPath(path: string): string | null {
  // Other paths (the admin API, "/") belong to no project, so no project's origins apply to them.
  if (!path.startsWith("/v1/stream/") && !path.startsWith("/v1/estuary/")) return null;
  const segments = path.split("/").slice(3);
  if (path.startsWith("/v1/estuary/subscribe/") || path.startsWith("/v1/estuary/subscribers/")) segments.shift();
  const project = segments.length >= 2 ? segments[0] : DEFAULT_PROJECT;
  return project !== undefined && isValidName(project) ? project : null;
}

export const corsMiddleware = cors({
  origin: allowedOrigin,
  allowMethods: ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"],
  allowHeaders: PROTOCOL_REQUEST_HEADERS,
  exposeHeaders: PROTOCOL_RESPONSE_HEADERS,
  maxAge: 86400,
});

/** Total request header size above which a request is refused (the protocol needs only a few). */
export const MAX_HEADER_BYTES = 16 * 1024;

export const headerLimit = createMiddleware<AppEnv>(async (c, next) => {
  let size = 0;
  c.req.raw.headers.forEach((value, name) => {
    size += name.length + value.length + 4;
  });
  if (size > MAX_HEADER_BYTES) throw new ApiError("headers_too_large", `request headers exceed ${MAX_HEADER_BYTES} bytes`);
  await next();
});

export const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  c.res.headers.set("X-Content-Type-Options", "nosniff");
  c.res.headers.set("Cross-Origin-Resource-Policy", "cross-origin");
});
