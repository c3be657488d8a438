// Signs webhook bodies with the deployment's Ed25519 key: `webhook-signature: t=<unix s>,kid=<kid>,
// ed25519=<base64url>` over the bytes `<t>.<body>`. The key is fetched once per isolate from
// WebhookKeyDO and kept in memory.
import type { Env } from "../env";
import { webhookKeyStub } from "./stub";
import { base64url } from "./tokens";

let cached: Promise<{ kid: string; key: CryptoKey }> | null = null;

function signer(env: Env): Promise<{ kid: string; key: CryptoKey }> {
  cached ??= (async () => {
    const material = await webhookKeyStub(env).signingKey();
    const key = await crypto.subtle.importKey("jwk", material.privateJwk, { name: "Ed25519" }, false, ["sign"]);
    return { kid: material.kid, key };
  })().catch((error: unknown) => {
    cached = null;
    throw error;
  });
  return cached;
}

export async function signatureHeader(env: Env, body: string, now: number): Promise<string> {
  const { kid, key } = await signer(env);
  const timestamp = Math.floor(now / 1000);
  const signature = await crypto.subtle.sign("Ed25519", key, new TextEncoder().encode(`${timestamp}.${body}`));
  return `t=${timestamp},kid=${kid},ed25519=${base64url(new Uint8Array(signature))}`;
}

let kid: Promise<string> | null = null;

/** The kid webhooks are signed with (shown in a subscription's signing metadata), once per isolate. */
export function signingKid(env: Env): Promise<string> {
  kid ??= webhookKeyStub(env)
    .jwks()
    .then(({ keys }) => keys[0]?.kid ?? "")
    .catch((error: unknown) => {
      kid = null;
      throw error;
    });
  return kid;
}
