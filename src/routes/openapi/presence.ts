// The presence routes in the OpenAPI document: a stream's present users, and its presence log,
// with the schemas of presence/schemas.ts.
import { READ_QUERY } from "../streams/schemas";
import { SnapshotQuerySchema, SnapshotSchema } from "../presence/schemas";
import { jsonResponse, parameter, preflight, type Section } from "./build";

const READ = { tokenUnlessPublic: "read" } as const;
const ERRORS = ["bad_request", "unauthorized", "forbidden", "not_found", "gone", "headers_too_large"] as const;

export function presenceSection(): Section {
  const snapshotQuery = Object.entries(SnapshotQuerySchema.shape).map(([name, schema]) => parameter(name, "query", schema));
  const readQuery = Object.entries(READ_QUERY)
    .filter(([name]) => name !== "presence")
    .map(([name, schema]) => parameter(name, "query", schema));
  return {
    tag: { name: "presence", description: "Who is present on a stream (WebSocket readers that joined with presence=true), and the log of its changes." },
    routes: [
      {
        path: "/v1/presence/:project/:stream",
        description: 'A stream of the project "default" is /v1/presence/default/{stream}.',
        operations: {
          get: {
            id: "presenceSnapshot",
            summary: "The users present on the stream, in user order, a page of at most 1,000",
            description:
              "A user is present while any of their presence sockets is open, and for PRESENCE_GRACE_MS after the last one closed (shown with 0 connections). Answered by the stream's object alone. Needs read on the stream (or none on a public stream).",
            auth: READ,
            parameters: snapshotQuery,
            responses: { 200: jsonResponse("The present users.", "PresenceSnapshot") },
            errors: [...ERRORS],
          },
          options: preflight("presenceSnapshotPreflight"),
        },
      },
      {
        path: "/v1/presence/:project/:stream/events",
        operations: {
          get: {
            id: "presenceEvents",
            summary: "The stream's presence log: catch-up, long-poll, SSE or WebSocket, like a stream read",
            description:
              'A JSON stream of State Protocol change events: {"type":"presence","key":<user>,"value":{"user","since"},"headers":{"operation":"insert"|"delete","timestamp"}} for joins and leaves, and {"type":"occupancy","key":<stream>,"value":{"occupied"},"headers":{...}} when the first user joins (insert) and the last leaves (delete). 404 until the stream\'s first join. Needs read on the stream; a public stream\'s log still needs it.',
            auth: { token: "read" },
            parameters: readQuery,
            responses: {
              200: { description: "Events from the offset (a JSON array), or an SSE stream with live=sse.", content: { "application/json": { schema: { type: "array", items: {} } }, "text/event-stream": { schema: { type: "string" } } } },
              204: { description: "Long-poll: no new event within LONG_POLL_TIMEOUT_MS." },
              101: { description: "live=ws: a WebSocket of frames as on a stream read." },
            },
            errors: [...ERRORS, "upgrade_required", "rate_limited"],
          },
          options: preflight("presenceEventsPreflight"),
        },
      },
    ],
    schemas: { PresenceSnapshot: { schema: SnapshotSchema, io: "output" } },
  };
}
