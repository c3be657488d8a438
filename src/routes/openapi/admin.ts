// The admin routes in the OpenAPI document: projects, secrets and tokens, with the bodies of
// admin/bodies.ts. Every one needs the deployment's ADMIN_TOKEN and answers 404 while it is unset.
import {
  CreateProjectSchema,
  MintedTokenSchema,
  MintTokenSchema,
  NewProjectSchema,
  NewSecretSchema,
  ProjectViewSchema,
  UpdateProjectSchema,
} from "../admin/bodies";
import { jsonBody, jsonResponse, noBody, type Operation, type Section } from "./build";

const ERRORS = ["unauthorized", "not_found", "headers_too_large"] as const;

function admin(operation: Omit<Operation, "auth" | "errors"> & { errors: Operation["errors"] }): Operation {
  return { ...operation, auth: "admin", errors: [...ERRORS, ...operation.errors] };
}

export function adminSection(): Section {
  return {
    tag: { name: "admin", description: "Projects, their signing secrets and tokens." },
    routes: [
      {
        path: "/v1/admin/projects",
        operations: {
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
    ],
    schemas: {
      CreateProjectRequest: { schema: CreateProjectSchema, io: "input" },
      UpdateProjectRequest: { schema: UpdateProjectSchema, io: "input" },
      MintTokenRequest: { schema: MintTokenSchema, io: "input" },
      NewProject: { schema: NewProjectSchema, io: "output" },
      NewSecret: { schema: NewSecretSchema, io: "output" },
      ProjectView: { schema: ProjectViewSchema, io: "output" },
      MintedToken: { schema: MintedTokenSchema, io: "output" },
    },
  };
}
