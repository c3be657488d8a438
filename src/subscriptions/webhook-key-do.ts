// WebhookKeyDO: the deployment's webhook signing key (Ed25519), made on first use and kept in this
// object's SQLite. One instance, named DEPLOYMENT_KEY. Its public half is served as the JWKS at
// /v1/stream/__ds/jwks.json; the private half goes only to subscription objects, which sign with it.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { LazySchema, type Migration } from "../storage/migrations";
import { base64url } from "./tokens";

export const DEPLOYMENT_KEY = "deployment";

export interface PublicJwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
  kid: string;
  use: "sig";
  alg: "EdDSA";
}

export interface SigningKeyMaterial {
  kid: string;
  privateJwk: JsonWebKey;
}

const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    sql: `
      -- Signing keys; the newest signs. Kept as JWKs (the private one never leaves the Worker's objects).
      CREATE TABLE keys (kid TEXT PRIMARY KEY, public_jwk TEXT NOT NULL, private_jwk TEXT NOT NULL, created_at INTEGER NOT NULL);
    `,
  },
];

type KeyRow = { kid: string; public_jwk: string; private_jwk: string };

export class WebhookKeyDO extends DurableObject<Env> {
  private readonly schema: LazySchema;
  private making: Promise<KeyRow> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.schema = new LazySchema(ctx.storage, MIGRATIONS);
  }

  async jwks(): Promise<{ keys: PublicJwk[] }> {
    await this.current();
    const rows = this.ctx.storage.sql.exec<KeyRow>("SELECT * FROM keys ORDER BY created_at DESC").toArray();
    return { keys: rows.map((row) => JSON.parse(row.public_jwk) as PublicJwk) };
  }

  async signingKey(): Promise<SigningKeyMaterial> {
    const row = await this.current();
    return { kid: row.kid, privateJwk: JSON.parse(row.private_jwk) as JsonWebKey };
  }

  private current(): Promise<KeyRow> {
    const stored = this.schema.exists
      ? this.ctx.storage.sql.exec<KeyRow>("SELECT * FROM keys ORDER BY created_at DESC LIMIT 1").toArray()[0]
      : undefined;
    if (stored) return Promise.resolve(stored);
    // Single flight: two first callers must not make two keys.
    this.making ??= this.make().finally(() => {
      this.making = null;
    });
    return this.making;
  }

  private async make(): Promise<KeyRow> {
    const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const publicJwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
    const privateJwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
    if (publicJwk.kty !== "OKP" || publicJwk.crv !== "Ed25519" || !publicJwk.x) throw new Error("could not export the Ed25519 key");
    const kid = `ds_${await thumbprint(publicJwk.x)}`;
    const jwk: PublicJwk = { kty: "OKP", crv: "Ed25519", x: publicJwk.x, kid, use: "sig", alg: "EdDSA" };
    const row: KeyRow = { kid, public_jwk: JSON.stringify(jwk), private_jwk: JSON.stringify(privateJwk) };
    this.schema.ensure();
    this.ctx.storage.sql.exec("INSERT INTO keys (kid, public_jwk, private_jwk, created_at) VALUES (?, ?, ?, ?)", row.kid, row.public_jwk, row.private_jwk, Date.now());
    return row;
  }
}

/** RFC 7638 JWK thumbprint of an Ed25519 key: SHA-256 over its required members in order. */
async function thumbprint(x: string): Promise<string> {
  const canonical = JSON.stringify({ crv: "Ed25519", kty: "OKP", x });
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical))));
}
