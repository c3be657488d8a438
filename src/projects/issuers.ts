// A project's issuers: the auth providers (Auth0, Clerk, Supabase, the application's own) whose
// tokens the project accepts besides its own HS256 tokens. Each names where its public keys are
// published (a JWKS), what its tokens may do at most, and which claims carry the user and the
// streams. Stored in ProjectDO's `issuers` table; this module holds that table's SQL.
import { z } from "zod";
import { SCOPES } from "../contract/scopes";

/** Enough for a provider per environment and a migration between two; each is checked by `iss` alone. */
export const MAX_ISSUERS = 10;

const ClaimName = z.string().min(1).max(64);

export const IssuerSchema = z.object({
  /** The tokens' `iss`, exactly. */
  issuer: z.string().min(1).max(512),
  /** Where the issuer publishes its public keys; https to a public address (the webhook URL rules). */
  jwksUrl: z.string().min(1).max(2048),
  /** When set, a token's `aud` must name it. */
  audience: z.string().min(1).max(512).optional(),
  /** The claim naming the user. */
  userClaim: ClaimName.default("sub"),
  /** What the issuer's tokens may do at most (a token's own `scope` can only narrow it). */
  scopes: z.array(z.enum(SCOPES)).min(1).default(["read"]),
  /** The claim listing the streams a token may touch; a token without it reaches no private stream. */
  streamsClaim: ClaimName.default("streams"),
});
export type Issuer = z.infer<typeof IssuerSchema>;

export class IssuerStore {
  constructor(private readonly sql: SqlStorage) {}

  all(): Issuer[] {
    return this.sql
      .exec<{ config: string }>("SELECT config FROM issuers ORDER BY issuer")
      .toArray()
      .map((row) => IssuerSchema.parse(JSON.parse(row.config)));
  }

  count(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM issuers").one().n;
  }

  /** Adds the issuer, or replaces the one with the same `iss`. */
  save(issuer: Issuer, now: number): void {
    this.sql.exec("INSERT OR REPLACE INTO issuers (issuer, config, created_at) VALUES (?, ?, ?)", issuer.issuer, JSON.stringify(issuer), now);
  }

  has(issuer: string): boolean {
    return this.sql.exec("SELECT 1 FROM issuers WHERE issuer = ?", issuer).toArray().length > 0;
  }

  remove(issuer: string): boolean {
    return this.sql.exec("DELETE FROM issuers WHERE issuer = ?", issuer).rowsWritten > 0;
  }
}
