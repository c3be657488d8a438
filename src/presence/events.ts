// The presence log's events, in the State Protocol's change-event shape (`@durable-streams/state`):
// `{type, key, value, headers: {operation, timestamp}}`, so a MaterializedState fed the log holds
// the current members (type "presence", keyed by user) and whether the stream is occupied (type
// "occupancy", keyed by the stream's name). A join inserts, a leave deletes; the first user in
// inserts the occupancy row and the last one out deletes it.
import { z } from "zod";

export const PRESENCE_TYPE = "presence";
export const OCCUPANCY_TYPE = "occupancy";

const Headers = z.object({ operation: z.enum(["insert", "update", "delete"]), timestamp: z.string() });

export const PresenceEventSchema = z.object({
  type: z.enum([PRESENCE_TYPE, OCCUPANCY_TYPE]),
  key: z.string(),
  value: z.record(z.string(), z.unknown()),
  headers: Headers,
});
export type PresenceEvent = z.infer<typeof PresenceEventSchema>;

export function joinEvent(user: string, since: number, info: Record<string, unknown> | null): PresenceEvent {
  const value = { user, since: new Date(since).toISOString(), ...(info === null ? {} : { info }) };
  return { type: PRESENCE_TYPE, key: user, value, headers: headers("insert", since) };
}

export function leaveEvent(user: string, since: number, at: number): PresenceEvent {
  return { type: PRESENCE_TYPE, key: user, value: { user, since: new Date(since).toISOString() }, headers: headers("delete", at) };
}

/** `stream` is the source stream's name within its project. */
export function occupancyEvent(stream: string, occupied: boolean, at: number): PresenceEvent {
  return { type: OCCUPANCY_TYPE, key: stream, value: { occupied }, headers: headers(occupied ? "insert" : "delete", at) };
}

function headers(operation: "insert" | "delete", at: number): PresenceEvent["headers"] {
  return { operation, timestamp: new Date(at).toISOString() };
}
