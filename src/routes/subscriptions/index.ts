// The reserved subscription APIs, mounted at /v1/stream/__ds before the stream routes (so `__ds` is
// never a stream or project): subscriptions, their streams, wakes and the webhook signing keys.
// Errors here carry the protocol's upper-case codes (src/subscriptions/errors.ts).
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { authenticate } from "../../auth/access";
import { ApiError } from "../../errors";
import type { AppEnv } from "../../http/context";
import { SubscriptionIdSchema } from "../../contract/subscriptions";
import { DsError, dsCodeOf, dsErrorResponse, dsFail } from "../../subscriptions/errors";
import { answerAck, answerCallback, answerRelease } from "./answer";
import { claimWake } from "./claim";
import { deleteSubscription } from "./delete";
import { getSubscription } from "./get";
import { serveJwks } from "./jwks";
import { putSubscription } from "./put";
import { addStreams, removeStream } from "./streams";

export const DS_PREFIX = "/v1/stream/__ds";

/** Every route naming a subscription: its id must be one (1-200 characters). */
const subscriptionId = createMiddleware<AppEnv>(async (c, next) => {
  if (!SubscriptionIdSchema.safeParse(c.req.param("id")).success) {
    throw new DsError(dsFail("INVALID_REQUEST", "subscription ids are 1-200 characters"));
  }
  await next();
});

function methodNotAllowed(): never {
  throw new DsError(dsFail("METHOD_NOT_ALLOWED", "method not allowed on this route"));
}

export function subscriptionRoutes(): Hono<AppEnv> {
  const ds = new Hono<AppEnv>();
  ds.get("/jwks.json", serveJwks);
  ds.all("/jwks.json", methodNotAllowed);

  const base = "/subscriptions/:id";
  ds.use(base, subscriptionId);
  ds.use(`${base}/*`, subscriptionId);
  // Management and claims take project tokens; callbacks, acks and releases their callback token.
  for (const path of [base, `${base}/streams`, `${base}/streams/:path`, `${base}/claim`]) ds.use(path, authenticate);
  ds.put(base, putSubscription);
  ds.get(base, getSubscription);
  ds.delete(base, deleteSubscription);
  ds.all(base, methodNotAllowed);
  ds.post(`${base}/streams`, addStreams);
  ds.all(`${base}/streams`, methodNotAllowed);
  ds.delete(`${base}/streams/:path`, removeStream);
  ds.all(`${base}/streams/:path`, methodNotAllowed);
  ds.post(`${base}/claim`, claimWake);
  ds.post(`${base}/callback`, answerCallback);
  ds.post(`${base}/ack`, answerAck);
  ds.post(`${base}/release`, answerRelease);
  for (const action of ["claim", "callback", "ack", "release"]) ds.all(`${base}/${action}`, methodNotAllowed);

  ds.all("*", () => {
    throw new DsError(dsFail("SUBSCRIPTION_NOT_FOUND", "no such control route"));
  });
  ds.onError((error, c) => {
    if (error instanceof DsError) return dsErrorResponse(error.failure);
    if (error instanceof ApiError) return dsErrorResponse({ code: dsCodeOf(error.code), message: error.message }, error.headers);
    console.error(`unhandled error on ${c.req.method} ${c.req.path}`, error);
    return dsErrorResponse({ code: "INTERNAL_ERROR", message: "internal error" });
  });
  return ds;
}
