// The admin routes, mounted at /v1/admin: projects, their secrets, tokens, issuers and revocations, and the listings of
// projects and of a project's streams. They authenticate with
// the deployment's ADMIN_TOKEN (guard.ts), not project tokens, and belong to no project (no CORS).
import { Hono } from "hono";
import type { AppEnv } from "../../http/context";
import { requireAdmin } from "./guard";
import { addIssuer, listIssuers, removeIssuer } from "./issuers";
import { listProjects, listStreams } from "./listing";
import { revokeTokens } from "./revocations";
import { addSecret, createProject, getProject, mintToken, revokeSecret, updateProject } from "./projects";

export function adminRoutes(): Hono<AppEnv> {
  const admin = new Hono<AppEnv>();
  admin.use("*", requireAdmin);
  admin.get("/projects", listProjects);
  admin.post("/projects", createProject);
  admin.get("/projects/:project", getProject);
  admin.patch("/projects/:project", updateProject);
  admin.get("/projects/:project/streams", listStreams);
  admin.post("/projects/:project/secrets", addSecret);
  admin.delete("/projects/:project/secrets/:kid", revokeSecret);
  admin.post("/projects/:project/tokens", mintToken);
  admin.post("/projects/:project/issuers", addIssuer);
  admin.get("/projects/:project/issuers", listIssuers);
  admin.delete("/projects/:project/issuers", removeIssuer);
  admin.post("/projects/:project/revocations", revokeTokens);
  return admin;
}
