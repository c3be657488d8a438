// A project's open WebSockets, as its streams report them: each StreamDO sends its absolute count
// whenever it changes (through its outbox), so the project answers totals without waking a stream.
import { z } from "zod";
import { isValidName } from "../protocol/stream-address";

/** Streams hold at most 32,768 hibernatable sockets (the platform's cap per object). */
const MAX_SOCKETS_PER_STREAM = 32_768;

export const SocketReportSchema = z.object({
  /** The stream's name within the project. */
  stream: z.string().refine(isValidName),
  /** Its open WebSockets now (absolute, so a repeated or late retry cannot skew the total). */
  open: z.number().int().min(0).max(MAX_SOCKETS_PER_STREAM),
});
export type SocketReport = z.infer<typeof SocketReportSchema>;

export interface ProjectConnections {
  webSockets: number;
  streamsWithWebSockets: number;
}
