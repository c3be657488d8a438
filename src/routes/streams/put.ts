// PUT /v1/stream/{project}/{stream}: create a stream, or confirm one with the same configuration.
import type { AppContext } from "../../http/context";
import { readBody } from "../../http/body";
import { parseStreamPath } from "../../protocol/stream-address";
import { requireToken } from "../../auth/access";
import { enforceRateLimit } from "../../auth/rate-limit";
import { streamStub } from "../../stream/stub";
import { MAX_APPEND_BYTES } from "./limits";
import { parseClosed, parseContentType, parseExpiry, parseForkHeaders, parsePublic, parseRetentionHeader } from "./headers";
import { projectRetention } from "./retention-default";
import { orThrow, streamHeaders } from "./response";

export async function putStream(c: AppContext): Promise<Response> {
  const address = c.get("address");
  requireToken(c, address, "write");
  const headers = c.req.raw.headers;
  const expiry = parseExpiry(headers);
  const retention = parseRetentionHeader(headers);
  const forkHeaders = parseForkHeaders(headers);
  const forkSource = forkHeaders && parseStreamPath(forkHeaders.source);
  if (forkSource) requireToken(c, forkSource, "read");
  const fork = forkHeaders && forkSource && { ...forkHeaders, source: forkSource.key };
  await enforceRateLimit(c, "write", address.project);
  const body = await readBody(c.req.raw, MAX_APPEND_BYTES);

  const result = orThrow(
    await streamStub(c.env, address.key).create({
      name: address.key,
      contentType: parseContentType(headers),
      ...expiry,
      closed: parseClosed(headers),
      public: parsePublic(headers),
      retention,
      defaultRetention: retention ? undefined : await projectRetention(c.env, address.project),
      body,
      fork,
    }),
  );
  const response = streamHeaders(result, result.tail);
  if (result.retention !== null) response.set("Stream-Retention", result.retention);
  if (!result.created) return new Response(null, { status: 200, headers: response });
  const url = new URL(c.req.url);
  response.set("Location", `${url.origin}${url.pathname}`);
  return new Response(null, { status: 201, headers: response });
}
