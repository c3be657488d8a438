// The calls a subscribers object makes to other objects because of a change it committed, made
// through its outbox (storage/outbox.ts) until they succeed; each is idempotent.
import { z } from "zod";
import type { Env } from "../env";
import { streamStub } from "../stream/stub";

const Key = z.string().min(1).max(300);

export const SubscribersCallSchema = z.discriminatedUnion("kind", [
  /** The source was deleted: the estuary forgets its position in it. */
  z.object({ kind: z.literal("detachSource"), estuary: Key, source: Key }),
  /** The last subscriber left: the source stops publishing. */
  z.object({ kind: z.literal("fanoutOff"), source: Key }),
]);
export type SubscribersCall = z.infer<typeof SubscribersCallSchema>;

/** One pending fanoutOff at a time; a new first subscriber cancels it. */
export const FANOUT_OFF_KEY = "fanout-off";

export async function sendSubscribersCall(env: Env, call: SubscribersCall): Promise<void> {
  if (call.kind === "detachSource") return streamStub(env, call.estuary).detachSource(call.source);
  await streamStub(env, call.source).setFanout(false);
}
