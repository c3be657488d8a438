// Reading a sink's next batch from its source: the in-flight batch again (exactly its range), or a
// new batch from the delivered position. Reads name the generation the sink was made for, so a
// source deleted and created again under the same name is never read as if it were the old one.
import type { Env } from "../env";
import { gapOf } from "../contract/gaps";
import { streamStub } from "../stream/stub";
import { cutBatch, MAX_BATCH_BYTES, type Batch } from "./batch";
import type { SinkRecord } from "./repository";

/** Reading one oversized message alone: the 8 MiB append limit plus room; RPC allows 32 MiB. */
const SINGLE_MESSAGE_READ_BYTES = 9 * 1024 * 1024;

export type ReadOutcome =
  /** `batch` is null when there is nothing new. */
  | { ok: true; batch: Batch | null }
  /** Retention trimmed the sink's position past the hold caps: it jumps to `to` over a gap. */
  | { ok: true; batch: null; gap: { to: number; messages: number | null } }
  /** The generation of the source the sink was made for is gone (deleted, maybe created again). */
  | { ok: false; gone: true; message: string }
  | { ok: false; gone: false; message: string };

export async function readBatch(env: Env, sink: SinkRecord): Promise<ReadOutcome> {
  const source = streamStub(env, sink.source);
  const generation = sink.sourceGeneration;
  const from = sink.batch?.from ?? sink.delivered;
  const limit = sink.batch?.to ?? Number.MAX_SAFE_INTEGER;
  const maxBytes = sink.batch ? SINGLE_MESSAGE_READ_BYTES : MAX_BATCH_BYTES;
  const slice = await source.readSlice({ from, limit, maxBytes, stopAtAppendEnd: false, generation });
  const gap = slice.ok ? null : gapOf(slice, from);
  if (gap) return { ok: true, batch: null, gap };
  if (!slice.ok) return { ok: false, gone: slice.code === "not_found", message: slice.message };
  if (sink.batch) return { ok: true, batch: cutBatch(slice.segments, from, { messages: Number.MAX_SAFE_INTEGER, bytes: Number.MAX_SAFE_INTEGER }) };
  const batch = cutBatch(slice.segments, from);
  if (batch.messages.length > 0 || slice.segments.length === 0) return { ok: true, batch: batch.messages.length > 0 ? batch : null };
  // The first message is larger than a batch: it is sent alone.
  const whole = await source.readSlice({ from, limit, maxBytes: SINGLE_MESSAGE_READ_BYTES, stopAtAppendEnd: false, generation });
  if (!whole.ok) return { ok: false, gone: whole.code === "not_found", message: whole.message };
  const single = cutBatch(whole.segments, from, { messages: 1, bytes: Number.MAX_SAFE_INTEGER });
  return { ok: true, batch: single.messages.length > 0 ? single : null };
}
