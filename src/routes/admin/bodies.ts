// Request and response bodies of the admin routes. Requests are validated with these schemas;
// responses are described by them (the OpenAPI document is generated from both).
import { z } from "zod";
import { isValidName, RESERVED_NAME } from "../../protocol/stream-address";
import { CorsOriginsSchema } from "../../projects/cors-origins";
import { IssuerSchema } from "../../projects/issuers";
import { DEFAULT_PAGE, ListedKindSchema, MAX_PAGE } from "../../projects/listing";
import { StreamLimitsSchema } from "../../auth/reach";
import { MAX_TOKEN_LIFETIME_SECONDS, SCOPES } from "../../auth/token";
import { parseRetention } from "../../protocol/retention-policy";
import { UserIdSchema } from "../../auth/user";
import { PresenceInfoSchema } from "../../auth/presence-info";

export const ProjectNameSchema = z
  .string()
  .refine(isValidName, "project names are 1-128 characters of A-Z a-z 0-9 . _ ~ -")
  .refine((name) => name !== RESERVED_NAME, `${RESERVED_NAME} is reserved for the protocol's control routes`);

export const CreateProjectSchema = z.object({ project: ProjectNameSchema, corsOrigins: CorsOriginsSchema.default([]) });

/** A Stream-Retention value, or null for none: checked here so junk is a 400 naming the fault. */
const RetentionValue = z
  .string()
  .nullable()
  .superRefine((raw, ctx) => {
    const parsed = raw === null ? null : parseRetention(raw);
    if (parsed && !parsed.ok) ctx.addIssue({ code: "custom", message: parsed.message });
  })
  .meta({ description: "The retention policy of the project's new streams that name none (a Stream-Retention value, e.g. \"max-age=604800\"); null: they keep everything." });

export const UpdateProjectSchema = z
  .object({ corsOrigins: CorsOriginsSchema.optional(), retention: RetentionValue.optional() })
  .refine((body) => body.corsOrigins !== undefined || body.retention !== undefined, { error: "send corsOrigins, retention or both" });

export const MintTokenSchema = z.object({
  scope: z.array(z.enum(SCOPES)).min(1),
  ttlSeconds: z.number().int().min(1).max(MAX_TOKEN_LIFETIME_SECONDS).default(3600),
  streams: StreamLimitsSchema.optional(),
  user: UserIdSchema.optional().meta({ description: "The user the token acts for: its `user` claim, the user of every connection opened with it." }),
  info: PresenceInfoSchema.optional().meta({ description: "Shown with the user in a stream's presence (snapshot and join events): its `info` claim, a JSON object of at most 1 KiB." }),
});

const SecretValue = z.string().meta({ description: "The signing secret (HS256 key). Shown only in this response, never again." });

/** POST /v1/admin/projects/{project}/secrets. */
export const NewSecretSchema = z.object({ kid: z.string().meta({ description: "The secret's id: put it in a token's `kid` header." }), secret: SecretValue });

/** POST /v1/admin/projects: the project and its first secret. */
export const NewProjectSchema = z.object({ project: z.string(), ...NewSecretSchema.shape });

/** GET and PATCH /v1/admin/projects/{project} (the ProjectDO's `describe`): never secret values. */
export const ProjectViewSchema = z.object({
  project: z.string(),
  createdAt: z.iso.datetime(),
  corsOrigins: z.array(z.string()),
  retention: z.string().nullable(),
  secrets: z.array(z.object({ kid: z.string(), createdAt: z.iso.datetime() })),
});

/** POST /v1/admin/projects/{project}/tokens. */
export const MintedTokenSchema = z.object({
  token: z.string().meta({ description: "An HS256 JWT signed with the project's newest secret." }),
  expiresAt: z.iso.datetime(),
  jti: z.string().meta({ description: "The token's id (its `jti` claim): revoke it alone with POST .../revocations {\"jti\"}." }),
});

// --- issuers: POST/GET/DELETE /v1/admin/projects/{project}/issuers --------------------------------

/** The request body: IssuerSchema with every field described, unknown fields refused. */
export const NewIssuerSchema = z.strictObject({
  issuer: IssuerSchema.shape.issuer.meta({ description: "The `iss` of the provider's tokens, exactly (e.g. `https://acme.eu.auth0.com/`)." }),
  jwksUrl: IssuerSchema.shape.jwksUrl.meta({ description: "The provider's public keys (a JWKS). https to a public address; plain http to loopback only with WEBHOOK_ALLOW_LOOPBACK on." }),
  audience: IssuerSchema.shape.audience.meta({ description: "When set, a token's `aud` must name it." }),
  userClaim: IssuerSchema.shape.userClaim.meta({ description: "The claim naming the user (default `sub`)." }),
  scopes: IssuerSchema.shape.scopes.meta({ description: "What the provider's tokens may do at most (default `[\"read\"]`); a token's own `scope` naming read/write/manage narrows it." }),
  streamsClaim: IssuerSchema.shape.streamsClaim.meta({
    description: "The claim listing the streams a token may touch (default `streams`). A token without it reaches no private stream (public streams only).",
  }),
});

export const IssuerViewSchema = IssuerSchema;
export const IssuerListSchema = z.object({ issuers: z.array(IssuerSchema) });
export const IssuerQuerySchema = z.strictObject({ issuer: IssuerSchema.shape.issuer.meta({ description: "The issuer's `iss`, URL-encoded." }) });

// --- revocations: POST /v1/admin/projects/{project}/revocations --------------------------------

export const RevokeTokensSchema = z
  .strictObject({
    jti: z.string().min(1).max(128).optional().meta({ description: "Revoke the one token with this id (its `jti` claim; minted tokens return it)." }),
    user: UserIdSchema.optional().meta({ description: "Revoke every token naming this user (project tokens' `user`, an issuer's userClaim)." }),
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .max(MAX_TOKEN_LIFETIME_SECONDS)
      .default(MAX_TOKEN_LIFETIME_SECONDS)
      .meta({ description: "How long the revocation lasts (default and at most 30 days, the longest any token lives)." }),
  })
  .refine((body) => (body.jti === undefined) !== (body.user === undefined), "give exactly one of `jti` and `user`");

export const RevocationSchema = z.object({
  jti: z.string().optional(),
  user: z.string().optional(),
  expiresAt: z.iso.datetime().meta({ description: "When the revocation ends (tokens of that id or user are accepted again)." }),
});

// --- the listings: GET /v1/admin/projects and /v1/admin/projects/{project}/streams ---------------

export const LimitParam = z
  .string()
  .regex(/^[1-9][0-9]{0,3}$/, `limit must be an integer from 1 to ${MAX_PAGE}`)
  .transform(Number)
  .pipe(z.number().max(MAX_PAGE, `limit must be an integer from 1 to ${MAX_PAGE}`))
  .meta({ description: `At most this many entries (1-${MAX_PAGE}; default ${DEFAULT_PAGE}).`, examples: ["100"] });

export const AfterParam = z
  .string()
  .refine(isValidName, "after must be a name (1-128 characters of A-Z a-z 0-9 . _ ~ -), as given in next")
  .meta({ description: "Start after this name: the `next` of the previous page. Omitted: from the first name." });

/** The query of both listings; anything else in it is refused, so a mistyped parameter is not silently ignored. */
export const PageQuerySchema = z.strictObject({ limit: LimitParam.default(DEFAULT_PAGE), after: AfterParam.optional() });

const Next = z.string().nullable().meta({ description: "Pass as `after` for the next page; null on the last page." });

export const ProjectListSchema = z.object({
  projects: z.array(z.object({ project: z.string(), createdAt: z.iso.datetime() })),
  next: Next,
});

export const StreamListSchema = z.object({
  streams: z.array(
    z.object({
      stream: z.string(),
      kind: ListedKindSchema.meta({ description: "plain: made by a client; estuary: made by an estuary subscription; unknown: registered before kinds were recorded." }),
    }),
  ),
  next: Next,
});
