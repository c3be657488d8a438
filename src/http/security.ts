// Browser-facing headers on every response: nosniff, CORP and CORS for the protocol's headers.
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { loadConfig } from "../config";
import { ApiError } from "../errors";
import { projectAuth } from "../projects/cache";
import type { AppContext, AppEnv } from "./context";

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
  "Stream-Await-Commit",
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
  "Stream-Committed",
  "Stream-Hot-Bytes",
  "Stream-Cold-Bytes",
];

const CORS_OPTIONS = {
  allowMethods: ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"],
  allowHeaders: PROTOCOL_REQUEST_HEADERS,
  exposeHeaders: PROTOCOL_RESPONSE_HEADERS,
  maxAge: 86400,
};

const anyOrigin = cors({ ...CORS_OPTIONS, origin: "*" });

/** With auth off (local development) any origin may call any route, including refusals of bad paths. */
export const openCors = createMiddleware<AppEnv>(async (c, next) => {
  if (loadConfig(c.env).AUTH_MODE === "off") return anyOrigin(c, next);
  await next();
});

/**
 * With auth on, only the origins the route's project allows (after http/address.ts);
 * any other origin gets no Access-Control-Allow-Origin, so the browser blocks it. Routes without a
 * project (the admin API) get none.
 */
export const projectCors = cors({
  ...CORS_OPTIONS,
  origin: async (origin: string, c: AppContext): Promise<string | null> => {
    if (loadConfig(c.env).AUTH_MODE === "off") return "*";
    return origin && (await originAllowed(c, origin)) ? origin : null;
  },
});

/** With auth on: whether the route's project lists `origin` in its corsOrigins. */
export async function originAllowed(c: AppContext, origin: string): Promise<boolean> {
  const config = loadConfig(c.env);
  if (config.AUTH_MODE === "off") return true;
  const auth = await projectAuth(c.env, c.get("project"), config.AUTH_CACHE_MS);
  return auth?.corsOrigins.includes(origin) ?? false;
}

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
