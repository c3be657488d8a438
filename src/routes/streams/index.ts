// The stream routes, mounted at /v1/stream: the Durable Streams protocol, one handler per method.
import { Hono } from "hono";
import { authenticate } from "../../auth/access";
import { errorResponse } from "../../errors";
import { ADDRESS_PATHS, streamAddress } from "../../http/address";
import type { AppEnv } from "../../http/context";
import { projectCors } from "../../http/security";
import { badStreamPath } from "../../protocol/stream-address";
import { deleteStream } from "./delete";
import { readStream } from "./get";
import { headStream } from "./head";
import { appendToStream } from "./post";
import { putStream } from "./put";

export function streamRoutes(): Hono<AppEnv> {
  const streams = new Hono<AppEnv>();
  for (const path of ADDRESS_PATHS) {
    streams.use(path, streamAddress, projectCors, authenticate);
    // Hono dispatches HEAD through GET routes (dropping the body), so the GET route tells them apart.
    streams.get(path, (c) => (c.req.method === "HEAD" ? headStream(c) : readStream(c)));
    streams.put(path, putStream);
    streams.post(path, appendToStream);
    streams.delete(path, deleteStream);
    streams.all(path, (c) => errorResponse("method_not_allowed", `${c.req.method} is not supported on streams`));
  }
  // Empty, deeper or otherwise malformed paths name no stream.
  streams.all("*", () => {
    throw badStreamPath();
  });
  return streams;
}
