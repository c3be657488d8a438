// The connection routes in the OpenAPI document: a stream's open connections and a project's open
// WebSockets, with the bodies of connections/schemas.ts.
import { ProjectConnectionsSchema, StreamConnectionsSchema } from "../connections/schemas";
import { jsonResponse, preflight, type Section } from "./build";

const ERRORS = ["bad_request", "unauthorized", "forbidden", "headers_too_large"] as const;

export function connectionSection(): Section {
  return {
    tag: { name: "connections", description: "Open connections: a stream's by kind, and a project's WebSockets." },
    routes: [
      {
        path: "/v1/connections/:project",
        description: 'A project\'s totals. A stream of the project "default" is /v1/connections/default/{stream}.',
        operations: {
          get: {
            id: "projectConnections",
            summary: "The project's open WebSockets and how many streams hold them",
            description:
              "Answered by the project from the counts its streams report whenever theirs change (a report arrives within moments, through the stream's alarm); no stream is asked. Needs read in the project, with a token not limited to some streams (403).",
            auth: { token: "read" },
            responses: { 200: jsonResponse("The project's open WebSockets.", "ProjectConnections") },
            errors: [...ERRORS],
          },
          options: preflight("projectConnectionsPreflight"),
        },
      },
      {
        path: "/v1/connections/:project/:stream",
        operations: {
          get: {
            id: "streamConnections",
            summary: "The stream's open connections by kind: WebSocket, SSE, long-poll",
            description: "SSE and long-poll readers are counted while they wait at the tail for new data. Needs read on the stream.",
            auth: { token: "read" },
            responses: { 200: jsonResponse("The stream's open connections.", "StreamConnections") },
            errors: [...ERRORS, "not_found", "gone"],
          },
          options: preflight("streamConnectionsPreflight"),
        },
      },
    ],
    schemas: {
      StreamConnections: { schema: StreamConnectionsSchema, io: "output" },
      ProjectConnections: { schema: ProjectConnectionsSchema, io: "output" },
    },
  };
}
