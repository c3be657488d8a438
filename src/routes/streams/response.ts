// Response headers shared by the stream routes.
import type { Access } from "../../auth/access";
import { ApiError, isFailure } from "../../errors";
import type { StreamInfo } from "../../stream/commands";
import { formatOffset } from "../../protocol/offsets";

export function streamHeaders(info: Pick<StreamInfo, "contentType" | "closed">, next: number): Headers {
  const headers = new Headers({ "Content-Type": info.contentType, "Stream-Next-Offset": formatOffset(next) });
  if (info.closed) headers.set("Stream-Closed", "true");
  return headers;
}

/** A read refused because the stream is not public answers with the caller's own denial (401 or 403). */
export function denyPrivate<R extends { ok: boolean }>(result: R, access: Access): R {
  if (isFailure(result) && access.kind === "public-only" && result.code === "unauthorized") throw access.denial;
  return result;
}

/**
 * Unwraps a Durable Object result, turning an expected failure into the app's error response.
 * (RPC wraps each member of a result union, so the success type is taken by `ok`, not by shape.)
 */
export function orThrow<R extends { ok: boolean }>(result: R): Extract<R, { ok: true }> {
  if (isFailure(result)) throw ApiError.from(result);
  return result as Extract<R, { ok: true }>;
}
