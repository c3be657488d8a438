// POST /v1/stream/__ds/subscriptions/{id}/callback (webhook), /ack and /release (pull-wake), each
// {"wake_id","generation","acks"?,"done"?}: answer the current wake. Authorized by the callback
// token as a Bearer token (not a project token): 401 TOKEN_INVALID / TOKEN_EXPIRED, 409 FENCED for
// a wake that is not the current one, 409 INVALID_OFFSET for a bad ack.
import { subscriptionStub } from "../../subscriptions/stub";
import type { AppContext } from "../../http/context";
import { DsError, dsFail } from "../../subscriptions/errors";
import { orThrow, readDsJson, WakeAnswerSchema } from "./schemas";

function bearer(c: AppContext): string {
  const header = c.req.header("Authorization");
  if (!header?.startsWith("Bearer ")) throw new DsError(dsFail("TOKEN_INVALID", "missing or malformed Authorization header"));
  return header.slice("Bearer ".length);
}

export async function answerCallback(c: AppContext): Promise<Response> {
  const token = bearer(c);
  const body = await readDsJson(c, WakeAnswerSchema);
  const { next_wake } = orThrow(await subscriptionStub(c.env, c.req.param("id") ?? "").callback(token, body));
  return c.json({ ok: true, next_wake });
}

export async function answerAck(c: AppContext): Promise<Response> {
  const token = bearer(c);
  const body = await readDsJson(c, WakeAnswerSchema);
  const { next_wake } = orThrow(await subscriptionStub(c.env, c.req.param("id") ?? "").ack(token, body));
  return c.json({ ok: true, next_wake });
}

export async function answerRelease(c: AppContext): Promise<Response> {
  const token = bearer(c);
  const body = await readDsJson(c, WakeAnswerSchema);
  orThrow(await subscriptionStub(c.env, c.req.param("id") ?? "").release(token, body));
  return c.body(null, 204);
}
