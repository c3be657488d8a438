// How other modules address a project's object (one ProjectDO per project, tenant) and the
// deployment's project directory.
import type { Env } from "../env";
import type { ProjectDirectoryDO } from "./directory-do";
import type { ProjectDO } from "./project-do";

/** One ProjectDO per project (tenant), addressed by the project name. */
export function projectStub(env: Env, project: string): DurableObjectStub<ProjectDO> {
  return env.PROJECTS.getByName(project);
}

/** The deployment's one project directory, under a fixed name. */
export function directoryStub(env: Env): DurableObjectStub<ProjectDirectoryDO> {
  return env.PROJECT_DIRECTORY.getByName("projects");
}
