// The admin routes in the OpenAPI document: projects, secrets and tokens, and the listings, with the
// bodies and query schemas of admin/bodies.ts. Every one needs the deployment's ADMIN_TOKEN and answers 404 while it is unset.
import {
  AfterParam,
  CreateProjectSchema,
  IssuerListSchema,
  IssuerQuerySchema,
  IssuerViewSchema,
  LimitParam,
  MintedTokenSchema,
  MintTokenSchema,
  NewIssuerSchema,
  RevocationSchema,
  RevokeTokensSchema,
  NewProjectSchema,
  NewSecretSchema,
  ProjectListSchema,
  ProjectViewSchema,
  StreamListSchema,
  UpdateProjectSchema,
} from "../admin/bodies";
import { jsonBody, jsonResponse, noBody, parameter, type Operation, type Section } from "./build";

const ERRORS = ["unauthorized", "not_found", "headers_too_large"] as const;

function admin(operation: Omit<Operation, "auth" | "errors"> & { errors: Operation["errors"] }): Operation {
  return { ...operation, auth: "admin", errors: [...ERRORS, ...operation.errors] };
}

export function adminSection(): Section {
  const page = [parameter("limit", "query", LimitParam), parameter("after", "query", AfterParam)];
  return {
    tag: { name: "admin", description: "Projects, their signing secrets and tokens; what exists." },
    routes: [
      {
        path: "/v1/admin/projects",
        operations: {
          get: admin({
            id: "listProjects",
            summary: "Projects created through the admin API, a page in name order",
            description:
              "From the deployment's project directory. The default project exists without being created and is listed only if it was created. Unknown, repeated or malformed query parameters get 400.",
            parameters: page,
            responses: { 200: jsonResponse("A page of projects.", "ProjectList") },
            errors: ["bad_request"],
          }),
          post: admin({
            id: "createProject",
            summary: "Create a project; the answer holds its first signing secret",
            body: jsonBody("CreateProjectRequest"),
            responses: { 201: jsonResponse("Created.", "NewProject") },
            errors: ["bad_request", "conflict", "too_large"],
          }),
        },
      },
      {
        path: "/v1/admin/projects/:project",
        operations: {
          get: admin({
            id: "getProject",
            summary: "The project's CORS origins and secret ids (never secret values)",
            responses: { 200: jsonResponse("The project.", "ProjectView") },
            errors: ["bad_request"],
          }),
          patch: admin({
            id: "updateProject",
            summary: "Replace the project's CORS origins",
            body: jsonBody("UpdateProjectRequest"),
            responses: { 200: jsonResponse("The updated project.", "ProjectView") },
            errors: ["bad_request", "too_large"],
          }),
        },
      },
      {
        path: "/v1/admin/projects/:project/streams",
        operations: {
          get: admin({
            id: "listStreams",
            summary: "The project's streams with their kinds, a page in name order",
            description:
              "From the project's stream registry, which streams join when created and leave when deleted or expired; no stream is asked. 404 for a project never created that holds no streams. Unknown, repeated or malformed query parameters get 400.",
            parameters: page,
            responses: { 200: jsonResponse("A page of streams.", "StreamList") },
            errors: ["bad_request"],
          }),
        },
      },
      {
        path: "/v1/admin/projects/:project/secrets",
        operations: {
          post: admin({
            id: "addSecret",
            summary: "Add a signing secret (rotation: add, move signers to it, then revoke the old one)",
            responses: { 201: jsonResponse("Added.", "NewSecret") },
            errors: ["bad_request", "conflict"],
          }),
        },
      },
      {
        path: "/v1/admin/projects/:project/secrets/:kid",
        operations: {
          delete: admin({ id: "revokeSecret", summary: "Revoke a secret: tokens signed with it stop working", responses: { 204: noBody("Revoked.") }, errors: ["bad_request"] }),
        },
      },
      {
        path: "/v1/admin/projects/:project/tokens",
        operations: {
          post: admin({
            id: "mintToken",
            summary: "Mint a project token signed with the newest secret",
            body: jsonBody("MintTokenRequest"),
            responses: { 201: jsonResponse("Minted.", "MintedToken") },
            errors: ["bad_request", "too_large"],
          }),
        },
      },
      {
        path: "/v1/admin/projects/:project/issuers",
        operations: {
          post: admin({
            id: "addIssuer",
            summary: "Accept tokens from an auth provider (its JWKS): RS256, ES256 or EdDSA",
            description:
              "Replaces the issuer with the same `issuer`. The jwksUrl follows the webhook URL rules (https to a public address; http to loopback only with WEBHOOK_ALLOW_LOOPBACK on). At most 10 issuers per project (409). Every Worker applies the change within AUTH_CACHE_MS.",
            body: jsonBody("NewIssuerRequest"),
            responses: { 201: jsonResponse("Added (as stored, defaults filled in).", "Issuer") },
            errors: ["bad_request", "conflict", "too_large"],
          }),
          get: admin({ id: "listIssuers", summary: "The project's issuers", responses: { 200: jsonResponse("The issuers.", "IssuerList") }, errors: ["bad_request"] }),
          delete: admin({
            id: "removeIssuer",
            summary: "Stop accepting an issuer's tokens",
            parameters: [{ ...parameter("issuer", "query", IssuerQuerySchema.shape.issuer), required: true }],
            responses: { 204: noBody("Removed.") },
            errors: ["bad_request"],
          }),
        },
      },
      {
        path: "/v1/admin/projects/:project/revocations",
        operations: {
          post: admin({
            id: "revokeTokens",
            summary: "Revoke a token (by jti) or every token of a user, and close their WebSockets",
            description:
              "Tokens naming the jti or user get 401 `token revoked` from now on (this Worker at once, every Worker within AUTH_CACHE_MS), and WebSockets opened with them close with 4401 (reason `token revoked`) within AUTH_CACHE_MS. The revocation ends after ttlSeconds. At most 1,000 live revocations per project (409).",
            body: jsonBody("RevokeTokensRequest"),
            responses: { 201: jsonResponse("Revoked.", "Revocation") },
            errors: ["bad_request", "conflict", "too_large"],
          }),
        },
      },
    ],
    schemas: {
      RevokeTokensRequest: { schema: RevokeTokensSchema, io: "input" },
      Revocation: { schema: RevocationSchema, io: "output" },
      NewIssuerRequest: { schema: NewIssuerSchema, io: "input" },
      Issuer: { schema: IssuerViewSchema, io: "output" },
      IssuerList: { schema: IssuerListSchema, io: "output" },
      CreateProjectRequest: { schema: CreateProjectSchema, io: "input" },
      UpdateProjectRequest: { schema: UpdateProjectSchema, io: "input" },
      MintTokenRequest: { schema: MintTokenSchema, io: "input" },
      NewProject: { schema: NewProjectSchema, io: "output" },
      NewSecret: { schema: NewSecretSchema, io: "output" },
      ProjectView: { schema: ProjectViewSchema, io: "output" },
      MintedToken: { schema: MintedTokenSchema, io: "output" },
      ProjectList: { schema: ProjectListSchema, io: "output" },
      StreamList: { schema: StreamListSchema, io: "output" },
    },
  };
}
