// Decides what an append does (protocol §5.2, §5.2.1, closing), before anything is written.
import { fail, type Failure } from "../errors";
import type { AppendCommand } from "./commands";
import { isJsonMode, sameMediaType } from "../protocol/content-type";
import { splitJsonMessages } from "./json-messages";
import { formatOffset } from "../protocol/offsets";
import { decideProducer, type ProducerState } from "./producer";
import type { StreamMeta } from "./repository";

type ProducerEcho = { epoch: number; seq: number };

export type AppendPlan =
  | { ok: true; kind: "write"; messages: Uint8Array[]; producer?: ProducerEcho }
  /** A retried producer request: already applied, answer success without writing. */
  | { ok: true; kind: "duplicate"; producer: ProducerEcho }
  /** Closing a stream that is already closed. */
  | { ok: true; kind: "noop"; producer?: undefined }
  | Failure;

export function planAppend(
  meta: StreamMeta,
  cmd: AppendCommand,
  producerState: (id: string) => ProducerState | undefined,
): AppendPlan {
  const hasBody = cmd.body.length > 0;
  if (!hasBody && !cmd.close) return fail("bad_request", "append body is empty");

  let messages: Uint8Array[] = [];
  if (hasBody) {
    if (!cmd.contentType) return fail("bad_request", "Content-Type is required to append data");
    if (!sameMediaType(cmd.contentType, meta.contentType)) {
      return fail("conflict", `Content-Type does not match the stream's ${meta.contentType}`);
    }
    const split = isJsonMode(meta.contentType) ? splitJsonMessages(cmd.body, false) : [cmd.body];
    if (!Array.isArray(split)) return split;
    messages = split;
  }

  const closedConflict = fail("conflict", "stream is closed", {
    "Stream-Closed": "true",
    "Stream-Next-Offset": formatOffset(meta.tail),
  });

  // Producer dedup runs first: a retry of an applied request (even the one that closed the
  // stream) must succeed again rather than trip over later checks.
  if (cmd.producer) {
    const decision = decideProducer(producerState(cmd.producer.id), cmd.producer);
    if (!("kind" in decision)) return decision;
    if (decision.kind === "duplicate") {
      return { ok: true, kind: "duplicate", producer: { epoch: decision.epoch, seq: decision.highestSeq } };
    }
    if (meta.closed) return closedConflict;
  } else if (meta.closed) {
    return cmd.close && !hasBody ? { ok: true, kind: "noop" } : closedConflict;
  }

  if (cmd.streamSeq !== undefined && meta.lastStreamSeq !== null && cmd.streamSeq <= meta.lastStreamSeq) {
    return fail("conflict", `Stream-Seq ${cmd.streamSeq} is not greater than ${meta.lastStreamSeq}`);
  }
  const producer = cmd.producer ? { epoch: cmd.producer.epoch, seq: cmd.producer.seq } : undefined;
  return { ok: true, kind: "write", messages, producer };
}
