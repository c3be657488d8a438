// POST /v1/stream/{project}/{stream}: append (and optionally close), with idempotent producers.
import type { AppContext } from "../../http/context";
import { readBody } from "../../http/body";
import { requireToken } from "../../auth/access";
import { enforceRateLimit } from "../../auth/rate-limit";
import { fanoutStub } from "../../fanout/stub";
import { streamStub } from "../../stream/stub";
import { formatOffset } from "../../protocol/offsets";
import { MAX_APPEND_BYTES } from "./limits";
import { parseAwaitCommit, parseClosed, parseContentType, parseProducer } from "./headers";
import { orThrow } from "./response";

export async function appendToStream(c: AppContext): Promise<Response> {
  const address = c.get("address");
  requireToken(c, address, "write");
  await enforceRateLimit(c, "write", address.project);
  const headers = c.req.raw.headers;
  const producer = parseProducer(headers);
  const awaitCommitMs = parseAwaitCommit(headers);
  const body = await readBody(c.req.raw, MAX_APPEND_BYTES);

  const result = orThrow(
    await streamStub(c.env, address.key).append({
      contentType: parseContentType(headers),
      body,
      close: parseClosed(headers),
      streamSeq: headers.get("Stream-Seq") ?? undefined,
      producer,
    }),
  );
  const response = new Headers({ "Stream-Next-Offset": formatOffset(result.tail) });
  if (result.closed) response.set("Stream-Closed", "true");
  if (result.producer) {
    response.set("Producer-Epoch", String(result.producer.epoch));
    response.set("Producer-Seq", String(result.producer.seq));
  }
  if (awaitCommitMs !== undefined) response.set("Stream-Committed", String(await committed(c, result.tail, awaitCommitMs)));
  // Producers learn "new data" (200) from "already had it" (204); a close-only request stores no data.
  const status = producer && result.written && body.length > 0 ? 200 : 204;
  return new Response(null, { status, headers: response });
}

/**
 * Waits (at most `timeoutMs`) until the stream's commit policy holds for `tail`. The append is
 * durable already, so a failure to find out answers false rather than failing the append.
 */
async function committed(c: AppContext, tail: number, timeoutMs: number): Promise<boolean> {
  try {
    return await fanoutStub(c.env, c.get("address").key).awaitCommit({ position: tail, timeoutMs });
  } catch (error) {
    console.warn("waiting for an append to be committed failed", error);
    return false;
  }
}
