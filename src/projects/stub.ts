// How other modules address a project's object: one ProjectDO per project (tenant).
import type { Env } from "../env";
import type { ProjectDO } from "./project-do";

/** One ProjectDO per project (tenant), addressed by the project name. */
export function projectStub(env: Env, project: string): DurableObjectStub<ProjectDO> {
  return env.PROJECTS.getByName(project);
}
