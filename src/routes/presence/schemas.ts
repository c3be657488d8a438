// The presence routes' inputs and answers, as zod schemas: the handlers parse and build them, the
// OpenAPI document describes them.
import { z } from "zod";
import { UserIdSchema } from "../../auth/user";
import { Count } from "../../contract/primitives";
import { SNAPSHOT_PAGE_MAX } from "../../presence/snapshot";

export const PresenceParam = z
  .enum(["true", "false"], { error: "presence must be true or false" })
  .transform((value) => value === "true")
  .meta({ description: "On a WebSocket upgrade (live=ws): true makes the reader present on the stream as its user while the socket is open." });

export const SnapshotQuerySchema = z.object({
  after: UserIdSchema.optional().meta({ description: "The last user of the previous page (users come in user order)." }),
  limit: z.coerce.number().int().min(1).max(SNAPSHOT_PAGE_MAX).default(SNAPSHOT_PAGE_MAX).meta({ description: `Users per page, 1-${SNAPSHOT_PAGE_MAX} (default ${SNAPSHOT_PAGE_MAX}).` }),
});

export const PresentUserSchema = z.object({
  user: z.string(),
  connections: Count.meta({ description: "Open presence sockets of the user; 0 while their leave waits out the grace period." }),
  since: z.string().meta({ description: "When the user joined (ISO 8601)." }),
  info: z.record(z.string(), z.unknown()).optional().meta({ description: "The `info` claim (a JSON object of at most 1 KiB) of the token of the connection that joined; absent without one." }),
});

export const SnapshotSchema = z.object({
  users: z.array(PresentUserSchema),
  total: Count.meta({ description: "Users present in all (every page)." }),
  next: z.string().optional().meta({ description: "Present when more users follow: pass it as ?after= for the next page." }),
});
export type SnapshotBody = z.infer<typeof SnapshotSchema>;
