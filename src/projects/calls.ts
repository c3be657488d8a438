// The calls a project makes to other objects because of a change it committed, made through its
// outbox (storage/outbox.ts): written with the change and retried until they succeed, so each is
// idempotent.
import { z } from "zod";
import type { Env } from "../env";
import { directoryStub } from "./stub";

export const ProjectCallSchema = z.discriminatedUnion("kind", [
  /** The project was created: the deployment's directory lists it. */
  z.object({ kind: z.literal("listProject"), project: z.string().min(1).max(128), createdAt: z.number().int().min(0) }),
]);
export type ProjectCall = z.infer<typeof ProjectCallSchema>;

export async function sendProjectCall(env: Env, call: ProjectCall): Promise<void> {
  switch (call.kind) {
    case "listProject":
      return directoryStub(env).projectCreated({ project: call.project, createdAt: call.createdAt });
  }
}
