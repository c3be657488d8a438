// GET /v1/estuary/subscribers/{project}/{stream}: the source's fan-out status, with its data sinks'
// state (read scope on the source).
import { requireToken } from "../../auth/access";
import { fanoutStatus } from "../../estuary/subscriptions";
import type { AppContext } from "../../http/context";
import { listSinks } from "../../sinks/manage";
import { toStatusBody } from "./schemas";

export async function getFanoutStatus(c: AppContext): Promise<Response> {
  const source = c.get("address");
  requireToken(c, source, "read");
  const [status, sinks] = await Promise.all([fanoutStatus(c.env, source), listSinks(c.env, source)]);
  return c.json({ ...toStatusBody(status), sinks });
}
