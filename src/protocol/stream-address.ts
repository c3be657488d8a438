// Stream addresses: (project, stream), and so the name of one StreamDO. The routes' params carry
// them (`/:stream` is the default project, `/:project/:stream`); anything deeper, empty, or outside
// the name charset is refused with 400. Names are 1-128 characters of [A-Za-z0-9._~-], not "." or "..".
import { ApiError } from "../errors";

export const DEFAULT_PROJECT = "default";
export const STREAM_PREFIX = "/v1/stream/";
/** The protocol's reserved control namespace (`/v1/stream/__ds/...`): never a project or a stream. */
export const RESERVED_NAME = "__ds";

const NAME_PATTERN = /^[A-Za-z0-9._~-]{1,128}$/;

export interface StreamAddress {
  project: string;
  stream: string;
  /** The StreamDO name: "project/stream". */
  key: string;
}

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name) && name !== "." && name !== "..";
}

/** The address named by a route's params; no project means the default project. */
export function addressOf(project: string | undefined, stream: string | undefined): StreamAddress {
  const owner = project ?? DEFAULT_PROJECT;
  if (stream === undefined || !isValidName(owner) || !isValidName(stream)) {
    throw new ApiError("bad_request", "project and stream names are 1-128 characters of A-Z a-z 0-9 . _ ~ -");
  }
  // `/v1/stream/__ds` is the control namespace, so neither a project nor a default-project stream may be named so.
  if (owner === RESERVED_NAME || (owner === DEFAULT_PROJECT && stream === RESERVED_NAME)) {
    throw new ApiError("bad_request", `${RESERVED_NAME} is reserved for the protocol's control routes`);
  }
  return { project: owner, stream, key: `${owner}/${stream}` };
}

/** The refusal for a path that is not /{stream} or /{project}/{stream}. */
export function badStreamPath(): ApiError {
  return new ApiError("bad_request", "stream path must be /{stream} or /{project}/{stream}");
}

/** Parses the part of a path after a route prefix, e.g. "proj/name" or "name". */
export function parseAddress(rest: string): StreamAddress {
  const segments = rest.split("/");
  if (segments.length > 2) throw badStreamPath();
  return segments.length === 2 ? addressOf(segments[0], segments[1]) : addressOf(undefined, segments[0]);
}

/** Parses a full stream URL path or absolute URL, as given in Stream-Forked-From. */
export function parseStreamPath(pathOrUrl: string): StreamAddress {
  let path = pathOrUrl;
  if (/^https?:\/\//i.test(pathOrUrl)) {
    try {
      path = new URL(pathOrUrl).pathname;
    } catch {
      throw new ApiError("bad_request", "Stream-Forked-From is not a valid URL");
    }
  }
  if (!path.startsWith(STREAM_PREFIX)) {
    throw new ApiError("bad_request", `stream paths start with ${STREAM_PREFIX}`);
  }
  return parseAddress(path.slice(STREAM_PREFIX.length));
}

/** The public path of a stream from its StreamDO name, e.g. "p/s" -> "/v1/stream/p/s". */
export function streamPathOf(key: string): string {
  return `${STREAM_PREFIX}${key}`;
}
