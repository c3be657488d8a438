// A stand-in for a user's auth provider on loopback (node:http), for tests against `wrangler dev`:
// it publishes a JWKS of RS256 and ES256 keys made with WebCrypto, signs tokens with them, and
// counts how often the JWKS is fetched.
/// <reference types="node" />
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export type Alg = "RS256" | "ES256";

const GENERATE: Record<Alg, SubtleCryptoGenerateKeyAlgorithm> = {
  RS256: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  ES256: { name: "ECDSA", namedCurve: "P-256" },
};
const SIGN: Record<Alg, SubtleCryptoSignAlgorithm> = { RS256: { name: "RSASSA-PKCS1-v1_5" }, ES256: { name: "ECDSA", hash: "SHA-256" } };

export interface Provider {
  /** The tokens' `iss`. */
  issuer: string;
  jwksUrl: string;
  /** JWKS requests served so far. */
  fetches(): number;
  sign(alg: Alg, claims: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

export async function startProvider(): Promise<Provider> {
  const keys = new Map<Alg, CryptoKeyPair>();
  const published: Record<string, unknown>[] = [];
  for (const alg of ["RS256", "ES256"] as const) {
    const pair = (await crypto.subtle.generateKey(GENERATE[alg], true, ["sign", "verify"])) as CryptoKeyPair;
    keys.set(alg, pair);
    const { key_ops: _ops, ext: _ext, ...jwk } = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
    published.push({ ...jwk, kid: `${alg}-1`, alg, use: "sig" });
  }
  let fetches = 0;
  const server = createServer((request, response) => {
    if (request.url !== "/.well-known/jwks.json") {
      response.writeHead(404).end();
      return;
    }
    fetches++;
    response.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "public, max-age=300" }).end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer: `${base}/`,
    jwksUrl: `${base}/.well-known/jwks.json`,
    fetches: () => fetches,
    async sign(alg, claims) {
      const input = `${segment({ alg, typ: "JWT", kid: `${alg}-1` })}.${segment(claims)}`;
      const pair = keys.get(alg);
      if (!pair) throw new Error(`no ${alg} key`);
      const signature = await crypto.subtle.sign(SIGN[alg], pair.privateKey, new TextEncoder().encode(input));
      return `${input}.${Buffer.from(signature).toString("base64url")}`;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
