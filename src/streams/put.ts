// PUT /v1/stream/{project}/{stream}: create a stream, or confirm one with the same configuration.
import type { AppContext } from "../http/context";
import { readBody } from "../http/body";
import { parseAddress, parseStreamPath, STREAM_PREFIX } from "../http/stream-path";
import { streamStub } from "../env";
import { MAX_APPEND_BYTES } from "./limits";
import { parseClosed, parseContentType, parseExpiry, parseForkHeaders } from "./headers";
import { orThrow, streamHeaders } from "./response";

export async function putStream(c: AppContext): Promise<Response> {
  const address = parseAddress(c.req.path.slice(STREAM_PREFIX.length));
  const headers = c.req.raw.headers;
  const expiry = parseExpiry(headers);
  const forkHeaders = parseForkHeaders(headers);
  const fork = forkHeaders && { ...forkHeaders, source: parseStreamPath(forkHeaders.source).key };
  const body = await readBody(c.req.raw, MAX_APPEND_BYTES);

  const result = orThrow(
    await streamStub(c.env, address.key).create({
      name: address.key,
      contentType: parseContentType(headers),
      ...expiry,
      closed: parseClosed(headers),
      body,
      fork,
    }),
  );
  const response = streamHeaders(result, result.tail);
  if (!result.created) return new Response(null, { status: 200, headers: response });
  const url = new URL(c.req.url);
  response.set("Location", `${url.origin}${url.pathname}`);
  return new Response(null, { status: 201, headers: response });
}
