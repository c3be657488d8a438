// Verifies a token from one of a project's issuers (its users' own auth provider) against the
// issuer's published keys (jwks.ts); hono/jwt does the signature crypto. Only asymmetric algorithms
// are taken (RS256, ES256, EdDSA) and the key's type must fit the token's alg, so neither `alg: none`
// nor an HS256 token "signed" with a public key gets through. `exp` is required; `exp` and `nbf`
// allow CLOCK_SKEW_SECONDS; `iss` must be the issuer's and, when the issuer sets an audience, `aud`
// must name it. The user is the issuer's userClaim; the streams its streamsClaim (absent: none).
import { decode, verify } from "hono/jwt";
import { z } from "zod";
import { fail, type Failure } from "../errors";
import type { Issuer } from "../projects/issuers";
import { jwksKey, type Jwk } from "./jwks";
import { StreamLimitsSchema } from "./reach";
import { CLOCK_SKEW_SECONDS, MAX_TOKEN_LIFETIME_SECONDS, SCOPES, type Principal, type Scope } from "./token";
import { UserIdSchema } from "./user";
import { lenientInfo, PRESENCE_INFO_CLAIM } from "./presence-info";

export const ISSUER_ALGORITHMS = ["RS256", "ES256", "EdDSA"] as const;
type IssuerAlgorithm = (typeof ISSUER_ALGORITHMS)[number];

/** The public part of a key, in the shape WebCrypto imports for each algorithm; null if it does not fit. */
function publicKeyFor(alg: IssuerAlgorithm, jwk: Jwk): JsonWebKey | null {
  if (typeof jwk.alg === "string" && jwk.alg !== alg) return null;
  if (jwk.use !== undefined && jwk.use !== "sig") return null;
  const text = (name: string) => (typeof jwk[name] === "string" ? (jwk[name] as string) : undefined);
  if (alg === "RS256" && jwk.kty === "RSA" && text("n") && text("e")) return { kty: "RSA", n: text("n"), e: text("e") };
  if (alg === "ES256" && jwk.kty === "EC" && jwk.crv === "P-256" && text("x") && text("y")) return { kty: "EC", crv: "P-256", x: text("x"), y: text("y") };
  if (alg === "EdDSA" && jwk.kty === "OKP" && jwk.crv === "Ed25519" && text("x")) return { kty: "OKP", crv: "Ed25519", x: text("x") };
  return null;
}

const ClaimsSchema = z.looseObject({ exp: z.number(), nbf: z.number().optional(), jti: z.unknown().optional(), scope: z.unknown().optional() });

function unauthorized(message: string): Failure {
  return fail("unauthorized", message, { "WWW-Authenticate": 'Bearer realm="streams"' });
}

/** The token's header alg and `iss`, unverified, to pick the verifier and the issuer. */
export function unverifiedIssuer(token: string): { alg: unknown; iss: unknown } | null {
  try {
    const { header, payload } = decode(token);
    if (typeof header !== "object" || header === null || typeof payload !== "object" || payload === null) return null;
    return { alg: (header as { alg?: unknown }).alg, iss: payload.iss };
  } catch {
    return null;
  }
}

export async function verifyIssuerToken(token: string, project: string, issuer: Issuer, allowLoopback: boolean, now = Date.now()): Promise<Principal | Failure> {
  let header: { alg?: unknown; kid?: unknown; typ?: unknown };
  try {
    header = decode(token).header as typeof header;
  } catch {
    return unauthorized("malformed token");
  }
  const alg = ISSUER_ALGORITHMS.find((known) => known === header.alg);
  if (!alg) return unauthorized(`tokens from an issuer must be signed with ${ISSUER_ALGORITHMS.join(", ")} (not ${String(header.alg)})`);
  if (typeof header.kid !== "string") return unauthorized("a token from an issuer must name its key (kid header)");
  const found = await jwksKey(issuer.jwksUrl, header.kid, allowLoopback, now);
  if (!found.ok) return unauthorized(found.message);
  const key = publicKeyFor(alg, found.key);
  if (!key) return unauthorized(`the issuer's key ${header.kid} is not a ${alg} signing key`);

  let payload: unknown;
  try {
    // Time claims are checked below, with the clock skew hono's verify does not allow for.
    const typ = header.typ === undefined ? undefined : ["JWT", "at+jwt"];
    payload = await verify(token, key, { alg, iss: issuer.issuer, aud: issuer.audience, exp: false, nbf: false, iat: false, typ });
  } catch (error) {
    return unauthorized(verifyFailure(error));
  }
  const claims = ClaimsSchema.safeParse(payload);
  if (!claims.success) return unauthorized("a token from an issuer must have a numeric exp claim");
  const seconds = Math.floor(now / 1000);
  if (claims.data.exp + CLOCK_SKEW_SECONDS <= seconds) return unauthorized("token expired");
  if (claims.data.exp > seconds + MAX_TOKEN_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) {
    return unauthorized(`token exp is more than ${MAX_TOKEN_LIFETIME_SECONDS / 86_400} days away; tokens live at most that long`);
  }
  if (claims.data.nbf !== undefined && claims.data.nbf - CLOCK_SKEW_SECONDS > seconds) return unauthorized("token is not valid yet (nbf)");
  const rawUser = claims.data[issuer.userClaim];
  const user = UserIdSchema.safeParse(typeof rawUser === "number" ? String(rawUser) : rawUser);
  if (!user.success) return unauthorized(`the token's ${issuer.userClaim} claim (the issuer's userClaim) must name the user: 1-128 printable characters`);
  const rawStreams = claims.data[issuer.streamsClaim];
  const streams = rawStreams === undefined ? { success: true as const, data: [] } : StreamLimitsSchema.safeParse(rawStreams);
  if (!streams.success) return unauthorized(`the token's ${issuer.streamsClaim} claim must be a list of at most 100 stream names or prefixes ending in *`);
  const jti = z.string().min(1).max(128).safeParse(claims.data.jti);
  return {
    project,
    scopes: narrowedScopes(issuer.scopes, claims.data.scope),
    streams: streams.data,
    tokenKey: token.slice(token.lastIndexOf(".") + 1),
    expiresAt: claims.data.exp * 1000,
    kid: null,
    user: user.data,
    jti: jti.success ? jti.data : null,
    info: lenientInfo(claims.data[PRESENCE_INFO_CLAIM]),
  };
}

/**
 * The issuer's scopes, narrowed by the token's own `scope` claim when that names any of ours
 * (providers also put their own scopes there, such as "openid profile": those are ignored).
 */
function narrowedScopes(allowed: readonly Scope[], claim: unknown): Set<Scope> {
  const named = (typeof claim === "string" ? claim.split(" ") : Array.isArray(claim) ? claim : []).filter((scope): scope is Scope => SCOPES.some((known) => known === scope));
  // Scopes nest (manage includes write, which includes read): the lower of the two highest wins.
  const highest = (scopes: readonly Scope[]) => Math.max(...scopes.map((scope) => SCOPES.indexOf(scope)));
  const rank = named.length === 0 ? highest(allowed) : Math.min(highest(allowed), highest(named));
  return new Set(SCOPES.slice(rank, rank + 1));
}

function verifyFailure(error: unknown): string {
  const name = error instanceof Error ? error.name : "";
  if (name === "JwtTokenIssuer") return "the token's iss is not this issuer";
  if (name === "JwtTokenAudience" || name === "JwtPayloadRequiresAud") return "the token's aud does not name the issuer's audience";
  if (name === "JwtTokenSignatureMismatched") return "the token's signature does not match the issuer's key";
  if (name === "JwtHeaderInvalid") return "the token's header is not a JWT header (typ, crit)";
  return "token is not valid";
}
