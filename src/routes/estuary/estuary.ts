// GET and DELETE /v1/estuary/{project}/{estuaryId}: describe an estuary, or remove it entirely.
import type { AppContext } from "../../http/context";
import { requireToken } from "../../auth/access";
import { deleteEstuary, describeEstuary } from "../../estuary/manage";

export async function getEstuary(c: AppContext): Promise<Response> {
  const estuary = c.get("address");
  requireToken(c, estuary, "read");
  return c.json(await describeEstuary(c.env, estuary));
}

export async function removeEstuary(c: AppContext): Promise<Response> {
  const estuary = c.get("address");
  requireToken(c, estuary, "manage");
  await deleteEstuary(c.env, estuary);
  return new Response(null, { status: 204 });
}
