// WebSocket live reads (live=ws): the frames the server sends and the close codes it uses.
// Each frame is one text message holding one JSON object:
//   {"data": ..., "streamNextOffset": "<offset after this data>", "upToDate": bool,
//    "streamClosed"?: true, "encoding"?: "base64"}
// `data` is the array of messages for JSON streams, a string for text/* streams, and base64 of the
// bytes (with "encoding": "base64") for any other type. A client may send "ping" and a token
// refresh, {"type":"auth","token":"<jwt>"}, answered {"type":"auth","expiresAt":...} or a 4401 close.
import { toBase64 } from "../bytes";
import { isJsonMode, mediaType } from "./content-type";
import { formatOffset } from "./offsets";

/** One server frame, as a client parses it (error frames answer client messages other than PING). */
export interface StreamFrame {
  data: unknown;
  streamNextOffset: string;
  upToDate: boolean;
  streamClosed?: true;
  encoding?: "base64";
  error?: { code: string; message: string };
}

/** The server's answer to an accepted token refresh (`{"type":"auth","token"}` from the client). */
export interface AuthFrame {
  type: "auth";
  expiresAt: string | null;
}

/** Close codes: 1000 after the last frame of a closed stream; the 4xxx codes are ours. */
export const CLOSE = {
  /** The stream was closed by its writer and this reader has every message. */
  streamClosed: 1000,
  /** A client message over MAX_CLIENT_MESSAGE_BYTES. */
  messageTooBig: 1009,
  /**
   * The token the socket was opened with has expired or was revoked, or a refresh was refused:
   * reconnect with a fresh one.
   */
  tokenExpired: 4401,
  /** The server lost this socket's position (never expected): reconnect from the last streamNextOffset. */
  resume: 1012,
  /** The stream was deleted or expired (or re-created: the old offsets mean nothing in the new one). */
  streamGone: 4404,
  /** Retention trimmed the data this socket was to read next: reconnect (the upgrade answers 410 with Stream-Earliest-Offset) or from offset=-1. */
  trimmed: 4410,
  /** A cold segment (R2) this reader needs cannot be read now: reconnect later (the catch-up then answers 503). */
  segmentUnavailable: 4503,
} as const;

/** The text a client sends as a keepalive; the runtime answers PONG without waking the object. */
export const PING = "ping";
export const PONG = "pong";

/** Client messages (other than PING) above this size close the socket; smaller ones get an error frame. */
export const MAX_CLIENT_MESSAGE_BYTES = 1024;

export type FrameEncoding = "json" | "text" | "base64";

export function frameEncoding(contentType: string): FrameEncoding {
  if (isJsonMode(contentType)) return "json";
  return mediaType(contentType).startsWith("text/") ? "text" : "base64";
}

/**
 * Bytes of stream data per frame: about 1 MiB on the wire, so base64 (4 bytes for every 3) reads
 * less. JSON messages are never split (a larger message makes a larger frame).
 */
export function frameDataBytes(encoding: FrameEncoding): number {
  return encoding === "base64" ? 768 * 1024 : 1024 * 1024;
}

const decoder = new TextDecoder();

export interface FrameContent {
  /** The rendered payload: a JSON array in JSON mode (see stream/payload.ts), else the raw bytes. */
  body: Uint8Array;
  next: number;
  upToDate: boolean;
  closed: boolean;
}

export function renderFrame(encoding: FrameEncoding, content: FrameContent): string {
  const data =
    encoding === "json" ? decoder.decode(content.body) : encoding === "text" ? JSON.stringify(decoder.decode(content.body)) : JSON.stringify(toBase64(content.body));
  let frame = `{"data":${data},"streamNextOffset":"${formatOffset(content.next)}","upToDate":${content.upToDate}`;
  if (content.closed && content.upToDate) frame += `,"streamClosed":true`;
  if (encoding === "base64") frame += `,"encoding":"base64"`;
  return `${frame}}`;
}

/**
 * A client's token refresh, `{"type":"auth","token":"<jwt>"}`, may be this large: a token is at most
 * MAX_TOKEN_LENGTH characters (auth/token.ts), with room for the frame around it.
 */
export const MAX_AUTH_FRAME_BYTES = 4096 + 64;

/** The answer to an accepted refresh: the socket's new expiry (ISO 8601; null with auth off). */
export function authFrame(expiresAt: number | null): string {
  return JSON.stringify({ type: "auth", expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() });
}

/** An answer to a client message the server does not take (anything but PING). */
export function errorFrame(message: string): string {
  return JSON.stringify({ error: { code: "bad_request", message } });
}
