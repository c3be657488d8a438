// The presence snapshot RPC's input and answer (StreamDO.presence), shared by the route and the object.
import { z } from "zod";
import { UserIdSchema } from "../auth/user";
import type { Failure } from "../errors";
import type { PresentUser } from "./tracker";

/** Users per snapshot page: the "paginated above 1,000 users". */
export const SNAPSHOT_PAGE_MAX = 1_000;

export const PresenceQuerySchema = z.object({
  /** The last user of the previous page. */
  after: UserIdSchema.nullable(),
  limit: z.number().int().min(1).max(SNAPSHOT_PAGE_MAX),
  /** The caller has no read access: answer only if the stream is public. */
  requirePublic: z.boolean().optional(),
});
export type PresenceQuery = z.infer<typeof PresenceQuerySchema>;

export type PresenceResult = { ok: true; users: PresentUser[]; total: number } | Failure;
