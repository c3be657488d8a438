// Browser-facing headers on every response: nosniff, CORP and CORS for the protocol's headers.
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./context";

const PROTOCOL_REQUEST_HEADERS = [
  "Content-Type",
  "Authorization",
  "If-None-Match",
  "Stream-TTL",
  "Stream-Expires-At",
  "Stream-Seq",
  "Stream-Closed",
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

export const corsMiddleware = cors({
  origin: "*",
  allowMethods: ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"],
  allowHeaders: PROTOCOL_REQUEST_HEADERS,
  exposeHeaders: PROTOCOL_RESPONSE_HEADERS,
  maxAge: 86400,
});

export const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  c.res.headers.set("X-Content-Type-Options", "nosniff");
  c.res.headers.set("Cross-Origin-Resource-Policy", "cross-origin");
});
