// The StreamDO RPC inputs, validated at the object's boundary, and the shapes it answers with.
import { z } from "zod";
import { Count } from "../contract/primitives";
import { BytesSchema, type Segment } from "../contract/segments";
import type { Failure } from "../errors";
import { CloudEventsRequestSchema } from "../estuary/envelope";
import { PresenceInfoSchema } from "../auth/presence-info";
import { RetentionPolicySchema } from "../protocol/retention-policy";

export const ProducerSchema = z.object({ id: z.string().min(1), epoch: Count, seq: Count });

export const CreateCommandSchema = z.object({
  /** "project/stream": the object's own name, kept for fork bookkeeping. */
  name: z.string().min(1),
  contentType: z.string().optional(),
  ttlSeconds: Count.optional(),
  expiresAt: z.number().optional(),
  closed: z.boolean(),
  body: BytesSchema,
  /** Marks the stream as an estuary (created by a subscription). */
  estuary: z.boolean().optional(),
  /** Readable without a token. */
  public: z.boolean().optional(),
  /** The Stream-Retention the PUT named. */
  retention: RetentionPolicySchema.optional(),
  /** The policy of a stream created without one (its project's, or the estuary default). */
  defaultRetention: RetentionPolicySchema.optional(),
  fork: z
    .object({ source: z.string().min(1), position: Count.optional(), subOffset: Count })
    .optional(),
});
export type CreateCommand = z.infer<typeof CreateCommandSchema>;

export const AppendCommandSchema = z.object({
  contentType: z.string().optional(),
  body: BytesSchema,
  close: z.boolean(),
  streamSeq: z.string().optional(),
  producer: ProducerSchema.optional(),
});
export type AppendCommand = z.infer<typeof AppendCommandSchema>;

const OffsetQuerySchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("start") }),
  z.object({ kind: z.literal("now") }),
  z.object({ kind: z.literal("at"), position: Count }),
]);

/** A live read's name, chosen by the Worker (a random UUID). */
export const ReaderIdSchema = z.string().min(1).max(64);

export const ReadCommandSchema = z.object({
  offset: OffsetQuerySchema,
  /** 0 for catch-up; otherwise wait up to this long at the tail for new data. */
  waitMs: Count,
  /** The caller has no token: answer only if the stream is public (and say nothing otherwise). */
  requirePublic: z.boolean().optional(),
  /** Which kind of live reader waits at the tail, for the connection counts (default long-poll). */
  live: z.enum(["long-poll", "sse"]).optional(),
  /** Names a live read so `releaseRead` can end its wait when its client goes away. */
  readerId: ReaderIdSchema.optional(),
});
export type ReadCommand = z.infer<typeof ReadCommandSchema>;

/**
 * A WebSocket live read, as the Worker forwards it to the object (in SOCKET_REQUEST_HEADER of an
 * upgrade request: RPC cannot carry a WebSocket, so this one call is a fetch).
 */
export const SocketRequestSchema = z.object({
  offset: OffsetQuerySchema,
  requirePublic: z.boolean(),
  /** When the caller's token expires (ms since epoch): the socket is closed then. Null without a token. */
  expiresAt: z.number().int().nullable(),
  /** The id of the project secret that signed the token granting the read: the socket closes when it is revoked. */
  kid: z.string().min(1).max(64).nullable().optional(),
  /** The reader's user (auth/user.ts), kept in the socket's attachment; null: nobody in particular. */
  user: z.string().min(1).max(128).nullable().optional(),
  /** The id of the token granting the read, so revoking it closes the socket. */
  jti: z.string().min(1).max(128).nullable().optional(),
  /** WS_MAX_PER_STREAM. */
  maxSockets: Count,
  /** The reader asked to be present on the stream as its user (presence/tracker.ts). */
  presence: z.boolean().optional(),
  /** Its token's presence info (auth/presence-info.ts), kept with the user when they join. */
  info: PresenceInfoSchema.nullable().optional(),
});
export type SocketRequest = z.infer<typeof SocketRequestSchema>;
export const SOCKET_REQUEST_HEADER = "X-Stream-Socket";

export const RegisterForkSchema = z.object({
  forkName: z.string().min(1),
  /** The fork's generation: a release names it, so a late release never unpins a re-created fork. */
  generation: Count,
  position: Count.optional(),
  subOffset: Count,
  contentType: z.string().optional(),
});
export type RegisterFork = z.infer<typeof RegisterForkSchema>;

export const ReleaseForkSchema = z.object({ fork: z.string().min(1), generation: Count });
export type ReleaseFork = z.infer<typeof ReleaseForkSchema>;

export const SliceRequestSchema = z.object({
  from: Count,
  limit: Count,
  maxBytes: Count,
  /** Stop at the end of the first append (a fork's sub-offset). */
  stopAtAppendEnd: z.boolean(),
  /** Read only this generation of the stream (a data sink's): another one answers not_found. */
  generation: Count.optional(),
});
export type SliceRequest = z.infer<typeof SliceRequestSchema>;

export const HeadCommandSchema = z.object({ requirePublic: z.boolean().optional() }).optional();
export type HeadCommand = z.infer<typeof HeadCommandSchema>;

export interface StreamInfo {
  contentType: string;
  generation: number;
  tail: number;
  closed: boolean;
  ttlSeconds: number | null;
  expiresAt: number | null;
  /** The first offset still stored (retention trims below it). */
  earliest: number;
  /** The canonical Stream-Retention value, or null: everything is kept. */
  retention: string | null;
}

export type CreateResult = ({ ok: true; created: boolean } & StreamInfo) | Failure;

export type AppendResult =
  | {
      ok: true;
      /** false for a producer duplicate: nothing was written. */
      written: boolean;
      tail: number;
      closed: boolean;
      producer?: { epoch: number; seq: number };
    }
  | Failure;

export type ReadResult =
  /** `body` is the rendered payload of [start, next): raw bytes, or a JSON array in JSON mode. */
  | ({ ok: true; start: number; next: number; body: Uint8Array; upToDate: boolean } & StreamInfo)
  | Failure;

/** Where the stream's own data is stored: bytes in SQLite, and in R2 cold segments (HEAD). */
export interface StorageInfo {
  hotBytes: number;
  coldBytes: number;
}

export type HeadResult = ({ ok: true; storage: StorageInfo } & StreamInfo) | Failure;

/** Whether a catch-up page the Worker cached may still be served: the stream's current generation. */
export const ReadCheckSchema = z.object({
  requirePublic: z.boolean().optional(),
  /** The page's start, for a page of an explicit offset: below the earliest it is gone (410). */
  position: Count.optional(),
});
export type ReadCheck = z.infer<typeof ReadCheckSchema>;
/** `earliest`: a page cached for offset=-1 is current only if it starts there. */
export type ReadCheckResult = { ok: true; generation: number; earliest: number } | Failure;

export type DeleteResult = { ok: true } | Failure;

/** The stream's open connections: WebSockets, and SSE and long-poll readers waiting at the tail. */
export interface StreamConnections {
  webSocket: number;
  sse: number;
  longPoll: number;
}

export type ConnectionsResult = ({ ok: true } & StreamConnections) | Failure;

export type RegisterForkResult =
  | {
      ok: true;
      contentType: string;
      ttlSeconds: number | null;
      expiresAt: number | null;
      position: number;
      /** The partial append selected by Stream-Fork-Sub-Offset, as messages to store in the fork. */
      prefix: Uint8Array[];
    }
  | Failure;

export type SliceResult = { ok: true; segments: Segment[]; next: number } | Failure;

export const AttachSourceSchema = z.object({
  source: z.string().min(1),
  contentType: z.string().min(1),
  /** Source position the estuary starts from. */
  position: Count,
  /** Name of the estuary stream itself, "project/stream". */
  name: z.string().min(1),
  ttlSeconds: Count,
  public: z.boolean().optional(),
  /** How many sources an estuary may be subscribed to. */
  maxSources: Count,
  /** Absent: raw, the source's messages as they are (estuary/envelope.ts). */
  envelope: CloudEventsRequestSchema.optional(),
});
export type AttachSource = z.infer<typeof AttachSourceSchema>;

export type AttachResult =
  | { ok: true; created: boolean; attached: boolean; applied: number; generation: number }
  | Failure;
