// GET /v1/stream/__ds/jwks.json: the public keys webhook signatures verify with. Anyone may read it.
import { webhookKeyStub } from "../../subscriptions/stub";
import type { AppContext } from "../../http/context";

export async function serveJwks(c: AppContext): Promise<Response> {
  const jwks = await webhookKeyStub(c.env).jwks();
  return new Response(JSON.stringify(jwks), {
    headers: { "Content-Type": "application/jwk-set+json", "Cache-Control": "public, max-age=300" },
  });
}
