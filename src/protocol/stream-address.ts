// Maps /v1/stream/... paths to (project, stream) and so to the name of one StreamDO.
//
//   /v1/stream/{stream}            -> project "default"
//   /v1/stream/{project}/{stream}  -> that project
// Anything deeper, empty, or outside the name charset is rejected with 400: names are
// 1-128 characters of [A-Za-z0-9._~-], not "." or "..".
import { ApiError } from "../errors";

export const DEFAULT_PROJECT = "default";
export const STREAM_PREFIX = "/v1/stream/";

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

/** Parses the part after a route prefix, e.g. "proj/name" or "name". */
export function parseAddress(rest: string): StreamAddress {
  const segments = rest.split("/");
  if (segments.length > 2) {
    throw new ApiError("bad_request", "stream path must be /{stream} or /{project}/{stream}");
  }
  const [project, stream] = segments.length === 2 ? segments : [DEFAULT_PROJECT, segments[0]];
  if (project === undefined || stream === undefined || !isValidName(project) || !isValidName(stream)) {
    throw new ApiError("bad_request", "project and stream names are 1-128 characters of A-Z a-z 0-9 . _ ~ -");
  }
  return { project, stream, key: `${project}/${stream}` };
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
