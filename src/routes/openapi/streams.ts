// The stream routes in the OpenAPI document: the Durable Streams protocol's operations, with the
// query and header schemas headers.ts parses with (streams/schemas.ts).
import { ContentTypeHeader, READ_QUERY, REQUEST_HEADERS, type RequestHeaderName } from "../streams/schemas";
import { MAX_APPEND_BYTES } from "../streams/limits";
import { addressed, descriptionOf, errorWith, headerRefs, noBody, parameter, preflight, type Json, type Operations, type Section } from "./build";

const READ = { tokenUnlessPublic: "read" } as const;
const READ_ERRORS = ["bad_request", "unauthorized", "forbidden", "not_found", "gone", "headers_too_large"] as const;

export function streamSection(): Section {
  const headers = (...names: RequestHeaderName[]): Json[] => names.map((name) => parameter(name, "header", REQUEST_HEADERS[name]));
  const query = Object.entries(READ_QUERY).map(([name, schema]) => parameter(name, "query", schema));
  const bytes = (description: string): Json => ({
    description: `${description} At most ${MAX_APPEND_BYTES / 1024 / 1024} MiB. Content-Type: ${descriptionOf(ContentTypeHeader)}`,
    content: {
      // JSON mode stores messages; any other type stores the bytes as they are.
      "application/json": { schema: { description: "One JSON message, or an array of messages (flattened once; [] appends nothing)." } },
      "*/*": {},
    },
  });

  const operations: Operations = {
    get: {
      id: "readStream",
      summary: "Read: catch-up, long-poll (live=long-poll), SSE (live=sse) or WebSocket (live=ws)",
      description: "Anonymous reads of private and of missing streams both answer 401, so names do not leak.",
      auth: READ,
      parameters: [...query, ...headers("If-None-Match")],
      responses: {
        200: {
          description:
            "Data from the offset (about 1 MiB at most; follow Stream-Next-Offset until Stream-Up-To-Date), in the stream's Content-Type; JSON mode answers a JSON array of messages. With live=sse: a text/event-stream of `event: data` (the bytes, base64 when Stream-SSE-Data-Encoding says so), each followed by `event: control` with JSON {streamNextOffset, streamCursor?, upToDate?, streamClosed?}; the server closes it after SSE_MAX_DURATION_MS.",
          headers: headerRefs("Stream-Next-Offset", "Stream-Up-To-Date", "Stream-Closed", "Stream-Cursor", "ETag", "Cache-Control", "Stream-SSE-Data-Encoding"),
          content: { "application/json": { schema: { type: "array", items: {} } }, "text/event-stream": { schema: { type: "string" } }, "*/*": {} },
        },
        204: noBody("Long-poll: no new data within LONG_POLL_TIMEOUT_MS.", ["Stream-Next-Offset", "Stream-Up-To-Date", "Stream-Closed", "Stream-Cursor", "Cache-Control"]),
        304: noBody("If-None-Match named this range's current ETag.", ["ETag", "Stream-Next-Offset", "Cache-Control"]),
        101: {
          description:
            'live=ws with Upgrade: websocket: a WebSocket whose text frames are each one JSON object {"data", "streamNextOffset", "upToDate", "streamClosed"?, "encoding"?}: catch-up first, then each append as it commits. The client may send "ping" (answered "pong"). Close codes: 1000 after the last frame of a closed stream, 4401 token expired, 4404 stream deleted or expired, 1009 client message too large.',
        },
      },
      errors: [...READ_ERRORS, "upgrade_required", "too_many_sockets"],
    },
    head: {
      id: "headStream",
      summary: "The stream's metadata (does not slide its TTL)",
      description: "Errors carry no body (HEAD).",
      auth: READ,
      responses: { 200: noBody("The stream exists; Content-Type is its media type.", ["Stream-Next-Offset", "Stream-Closed", "Stream-TTL", "Stream-Expires-At", "Stream-Retention", "Stream-Earliest-Offset", "Cache-Control"]) },
      errors: [...READ_ERRORS],
    },
    put: {
      id: "createStream",
      summary: "Create a stream (or a fork of one), or confirm one with the same configuration",
      description: "A fork also needs read on its source.",
      auth: { token: "write" },
      parameters: headers("Stream-TTL", "Stream-Expires-At", "Stream-Retention", "Stream-Closed", "Stream-Public", "Stream-Forked-From", "Stream-Fork-Offset", "Stream-Fork-Sub-Offset"),
      body: bytes("Optional initial data."),
      responses: {
        201: noBody("Created.", ["Location", "Stream-Next-Offset", "Stream-Closed", "Stream-Retention"]),
        200: noBody("Already exists with the same configuration; nothing changed.", ["Stream-Next-Offset", "Stream-Closed", "Stream-Retention"]),
        409: errorWith("Exists with another configuration, deleted but still referenced by forks, or a fork whose content type differs from its source's."),
      },
      errors: ["bad_request", "unauthorized", "forbidden", "not_found", "too_large", "rate_limited", "headers_too_large"],
    },
    post: {
      id: "appendToStream",
      summary: "Append (and optionally close), with optional idempotent-producer headers",
      auth: { token: "write" },
      parameters: headers("Stream-Closed", "Stream-Seq", "Producer-Id", "Producer-Epoch", "Producer-Seq", "Stream-Await-Commit"),
      body: bytes("Data to append; may be empty only with Stream-Closed: true."),
      responses: {
        200: noBody("Idempotent producer: the data was new and is stored.", ["Stream-Next-Offset", "Stream-Closed", "Producer-Epoch", "Producer-Seq", "Stream-Committed"]),
        204: noBody("Stored; or, for a producer, a repeat of data already stored; or a close without data.", ["Stream-Next-Offset", "Stream-Closed", "Producer-Epoch", "Producer-Seq", "Stream-Committed"]),
        403: errorWith("A token outside its project, scope or streams, or a stale producer epoch (Producer-Epoch names the current one).", ["Producer-Epoch"]),
        409: errorWith(
          "The stream is closed (Stream-Closed, Stream-Next-Offset), a producer sequence gap (Producer-Expected-Seq, Producer-Received-Seq), a Content-Type other than the stream's, or a Stream-Seq not above the last one.",
          ["Stream-Closed", "Stream-Next-Offset", "Producer-Expected-Seq", "Producer-Received-Seq"],
        ),
      },
      errors: ["bad_request", "unauthorized", "not_found", "gone", "too_large", "rate_limited", "headers_too_large", "storage_full"],
    },
    delete: {
      id: "deleteStream",
      summary: "Delete the stream (soft-deleted, answering 410, while forks still read its data)",
      auth: { token: "manage" },
      responses: { 204: noBody("Deleted.") },
      errors: ["bad_request", "unauthorized", "forbidden", "not_found", "gone", "headers_too_large"],
    },
    options: preflight("streamPreflight"),
  };

  return {
    tag: { name: "streams", description: "The Durable Streams protocol: append-only streams over HTTP." },
    routes: addressed("/v1/stream", operations, { note: "Other methods answer 405." }),
  };
}
