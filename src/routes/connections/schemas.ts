// The connection routes' answers, as zod schemas: the handlers build them, the OpenAPI document
// describes them.
import { z } from "zod";
import { Count } from "../../contract/primitives";


export const StreamConnectionsSchema = z.object({
  webSocket: Count.meta({ description: "Open WebSockets (live=ws)." }),
  sse: Count.meta({ description: "SSE connections waiting at the tail for new data." }),
  longPoll: Count.meta({ description: "Long-poll requests waiting at the tail for new data." }),
});
export type StreamConnectionsBody = z.infer<typeof StreamConnectionsSchema>;

export const ProjectConnectionsSchema = z.object({
  webSockets: Count.meta({ description: "Open WebSockets on the project's streams, as the streams last reported them." }),
  streamsWithWebSockets: Count.meta({ description: "Streams with at least one open WebSocket." }),
});
export type ProjectConnectionsBody = z.infer<typeof ProjectConnectionsSchema>;
