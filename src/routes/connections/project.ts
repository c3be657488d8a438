// GET /v1/connections/{project}: the project's open WebSockets and how many streams hold them (read
// scope in the project, with a token not limited to some streams). Answered by the ProjectDO from
// its streams' reports; no stream is woken.
import { requireWholeProject } from "../../auth/access";
import { projectStub } from "../../projects/stub";
import type { AppContext } from "../../http/context";
import type { ProjectConnectionsBody } from "./schemas";

export async function getProjectConnections(c: AppContext): Promise<Response> {
  const project = c.get("project");
  requireWholeProject(c, project, "read");
  const { webSockets, streamsWithWebSockets } = await projectStub(c.env, project).connections();
  const body: ProjectConnectionsBody = { webSockets, streamsWithWebSockets };
  return c.json(body);
}
