// The admin routes, mounted at /v1/admin: projects, their secrets and tokens. They authenticate with
// the deployment's ADMIN_TOKEN (guard.ts), not project tokens, and belong to no project (no CORS).
import { Hono } from "hono";
import type { AppEnv } from "../../http/context";
import { requireAdmin } from "./guard";
import { addSecret, createProject, getProject, mintToken, revokeSecret, updateProject } from "./projects";

export function adminRoutes(): Hono<AppEnv> {
  const admin = new Hono<AppEnv>();
  admin.use("*", requireAdmin);
  admin.post("/projects", createProject);
  admin.get("/projects/:project", getProject);
  admin.patch("/projects/:project", updateProject);
  admin.post("/projects/:project/secrets", addSecret);
  admin.delete("/projects/:project/secrets/:kid", revokeSecret);
  admin.post("/projects/:project/tokens", mintToken);
  return admin;
}
