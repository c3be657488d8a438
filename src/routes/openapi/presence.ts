// The presence routes in the OpenAPI document: a stream's present users, and its presence log,
// with the schemas of presence/schemas.ts.
import { READ_QUERY } from "../streams/schemas";
import { SnapshotQuerySchema, SnapshotSchema } from "../presence/schemas";
import { jsonBody, jsonResponse, parameter, preflight, type Section } from "./build";

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
      {
        path: "/v1/presence/:project/:stream/sinks",
        operations: {
          post: {
            id: "createPresenceSink",
            summary: "A data sink fed by the stream's presence log: occupied / vacated and join / leave webhooks",
            description: "The body and answers of a stream's sink; the messages are the log's change events (type occupancy: insert = occupied, delete = vacated). The log is made if nobody joined yet. Needs manage on the stream.",
            auth: { token: "manage" },
            body: jsonBody("SinkSubscribeRequest"),
            responses: { 201: jsonResponse("Created: the sink, and its signing secret (shown only now).", "SinkCreated"), 200: jsonResponse("The same sink existed with the same configuration.", "SinkCreated") },
            errors: [...ERRORS, "conflict", "rate_limited", "too_large"],
          },
          delete: {
            id: "deletePresenceSink",
            summary: "Remove a data sink of the stream's presence log",
            auth: { token: "manage" },
            body: jsonBody("SinkUnsubscribeRequest"),
            responses: { 204: { description: "Removed." } },
            errors: [...ERRORS],
          },
          options: preflight("presenceSinksPreflight"),
        },
      },
      {
        path: "/v1/presence/:project/:stream/sinks/:sinkId",
        operations: {
          get: {
            id: "describePresenceSink",
            summary: "A presence log sink's state and its last delivery attempts",
            auth: { token: "read" },
            responses: { 200: jsonResponse("The sink.", "SinkDetail") },
            errors: [...ERRORS],
          },
          options: preflight("presenceSinkPreflight"),
        },
      },
      {
        path: "/v1/presence/:project/:stream/sinks/:sinkId/enable",
        operations: {
          post: {
            id: "enablePresenceSink",
            summary: "Resume a disabled (or retrying) presence log sink at once",
            auth: { token: "manage" },
            responses: { 200: jsonResponse("The sink, active again.", "Sink") },
            errors: [...ERRORS],
          },
          options: preflight("enablePresenceSinkPreflight"),
        },
      },
    ],
    schemas: { PresenceSnapshot: { schema: SnapshotSchema, io: "output" } },
  };
}
