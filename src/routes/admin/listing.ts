// GET /v1/admin/projects and GET /v1/admin/projects/{project}/streams: what exists, a page at a
// time in name order. Admin only (guard.ts). Answered by the registries alone (the deployment's
// project directory, the project's stream registry); no stream's object is asked.
import { z } from "zod";
import { ApiError } from "../../errors";
import type { AppContext } from "../../http/context";
import { directoryStub, projectStub } from "../../projects/stub";
import { DEFAULT_PROJECT } from "../../protocol/stream-address";
import { PageQuerySchema } from "./bodies";
import { projectParam } from "./projects";

/** The page query: each parameter at most once, validated; 400 otherwise. */
function pageQuery(c: AppContext): { after: string | null; limit: number } {
  const given = c.req.queries();
  const repeated = Object.keys(given).find((name) => (given[name]?.length ?? 0) > 1);
  if (repeated) throw new ApiError("bad_request", `query parameter ${repeated} is given more than once`);
  const parsed = PageQuerySchema.safeParse(Object.fromEntries(Object.entries(given).map(([name, values]) => [name, values[0]])));
  if (!parsed.success) throw new ApiError("bad_request", z.prettifyError(parsed.error));
  return { after: parsed.data.after ?? null, limit: parsed.data.limit };
}

/** GET /v1/admin/projects?limit=&after= → {projects: [{project, createdAt}], next}. */
export async function listProjects(c: AppContext): Promise<Response> {
  const page = await directoryStub(c.env).list(pageQuery(c));
  return c.json({ projects: page.items, next: page.next });
}

/** GET /v1/admin/projects/{project}/streams?limit=&after= → {streams: [{stream, kind}], next}. */
export async function listStreams(c: AppContext): Promise<Response> {
  const project = projectParam(c);
  const listed = await projectStub(c.env, project).listStreams(pageQuery(c));
  if (listed.ok) return c.json({ streams: listed.items, next: listed.next });
  // The default project exists without being created: with no streams yet it is empty, not missing.
  if (project === DEFAULT_PROJECT && listed.code === "not_found") return c.json({ streams: [], next: null });
  throw ApiError.from(listed);
}
