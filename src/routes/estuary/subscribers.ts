// GET /v1/estuary/subscribers/{project}/{stream}: the source's fan-out status (read scope on the source).
import { requireToken } from "../../auth/access";
import { fanoutStatus } from "../../estuary/subscriptions";
import type { AppContext } from "../../http/context";
import { toStatusBody } from "./schemas";

export async function getFanoutStatus(c: AppContext): Promise<Response> {
  const source = c.get("address");
  requireToken(c, source, "read");
  return c.json(toStatusBody(await fanoutStatus(c.env, source)));
}
