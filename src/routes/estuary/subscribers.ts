// GET /v1/estuary/subscribers/{project}/{stream}: the source's fan-out status, with its data sinks'
// state, the sinks holding its committed offset and its retention (read scope on the source).
import { requireToken } from "../../auth/access";
import { fanoutStatus } from "../../estuary/manage";
import type { AppContext } from "../../http/context";
import { commitHeldBy, listSinks } from "../../sinks/manage";
import { retentionStatus } from "./retention-status";
import { toStatusBody } from "./schemas";

export async function getFanoutStatus(c: AppContext): Promise<Response> {
  const source = c.get("address");
  requireToken(c, source, "read");
  const [status, sinks, retention] = await Promise.all([fanoutStatus(c.env, source), listSinks(c.env, source), retentionStatus(c.env, source)]);
  const body = toStatusBody(status);
  return c.json({ ...body, sinks, commitHeldBy: commitHeldBy(body.policy, body.committedOffset, sinks), retention });
}
