// Test stand-ins for a user's auth provider: key pairs for RS256, ES256 and EdDSA made with
// WebCrypto, tokens signed with them (any header, so tests can forge), and a JWKS served through a
// fetch stub that counts requests and can be changed or broken mid-test.
import { vi } from "vitest";

export type Alg = "RS256" | "ES256" | "EdDSA";

const PARAMS: Record<Alg, { generate: SubtleCryptoGenerateKeyAlgorithm; sign: SubtleCryptoSignAlgorithm }> = {
  RS256: { generate: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, sign: { name: "RSASSA-PKCS1-v1_5" } },
  ES256: { generate: { name: "ECDSA", namedCurve: "P-256" }, sign: { name: "ECDSA", hash: "SHA-256" } },
  EdDSA: { generate: { name: "Ed25519" }, sign: { name: "Ed25519" } },
};

export interface SigningKey {
  alg: Alg;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JsonWebKey & { kid: string };
}

export async function signingKey(alg: Alg, kid: string): Promise<SigningKey> {
  const pair = (await crypto.subtle.generateKey(PARAMS[alg].generate, true, ["sign", "verify"])) as CryptoKeyPair;
  const exported = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const { key_ops: _ops, ext: _ext, ...publicJwk } = exported;
  return { alg, kid, privateKey: pair.privateKey, publicJwk: { ...publicJwk, kid, alg, use: "sig" } };
}

const base64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const encodePart = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));

/** A JWT signed with `key`; `header` overrides the default {alg, typ, kid}. */
export async function signToken(key: SigningKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const input = `${encodePart({ alg: key.alg, typ: "JWT", kid: key.kid, ...header })}.${encodePart(payload)}`;
  const signature = await crypto.subtle.sign(PARAMS[key.alg].sign, key.privateKey, new TextEncoder().encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

/** An HS256 JWT with `secret` as the HMAC key (for the HS/RS confusion attack). */
export async function hmacToken(secret: string, payload: Record<string, unknown>, header: Record<string, unknown>): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const input = `${encodePart({ alg: "HS256", typ: "JWT", ...header })}.${encodePart(payload)}`;
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

/** A JWKS at `url`, served by a stub of the global fetch; other URLs go to the real fetch. */
export class JwksServer {
  keys: JsonWebKey[] = [];
  requests = 0;
  /** When set, the JWKS URL answers this instead of the keys. */
  failure: (() => Response) | null = null;
  cacheControl: string | null = null;

  constructor(readonly url: string) {
    const realFetch = globalThis.fetch;
    const original = vi.isMockFunction(realFetch) ? null : realFetch;
    const spy = vi.isMockFunction(realFetch) ? (realFetch as unknown as ReturnType<typeof vi.fn>) : vi.spyOn(globalThis, "fetch");
    const previous = spy.getMockImplementation() ?? original ?? realFetch;
    spy.mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const target = input instanceof Request ? input.url : String(input);
      if (target !== this.url) return (previous as typeof fetch)(input, init);
      this.requests++;
      if (this.failure) return this.failure();
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (this.cacheControl) headers["Cache-Control"] = this.cacheControl;
      return new Response(JSON.stringify({ keys: this.keys }), { headers });
    });
  }
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
