// Stream paths and patterns in subscription bodies. They are relative to the stream root, like the
// URLs: `events/x` is stream `x` of project `events`, a single segment names a default-project
// stream. A pattern names one project and a glob over its stream names (`*` = one segment, `**` =
// zero or more, which within one project means the same), so the streams it covers are found in
// that project's registry alone. (`events/**` does not match the default-project stream `events`.)
import { addressOf, DEFAULT_PROJECT, type StreamAddress } from "../protocol/stream-address";
import { globMatches, relativePath } from "../contract/subscriptions";

export interface StreamRef {
  /** As reported in bodies: "project/stream", or "stream" in the default project. */
  path: string;
  address: StreamAddress;
}

export interface Pattern {
  /** As given, normalized (no leading or trailing slashes). */
  text: string;
  project: string;
  glob: string;
}

export function normalizePath(raw: string): string {
  return raw.replace(/^\/+/, "").replace(/\/+$/, "");
}

/** A stream path from a body; null if it names no stream. */
export function parseStreamRef(raw: string): StreamRef | null {
  const segments = normalizePath(raw).split("/");
  if (segments.length > 2) return null;
  try {
    const address = segments.length === 2 ? addressOf(segments[0], segments[1]) : addressOf(undefined, segments[0]);
    return { path: relativePath(address.key), address };
  } catch {
    return null;
  }
}

/** A glob pattern; null if it is not `project/glob` or `glob` (default project). */
export function parsePattern(raw: string): Pattern | null {
  const text = normalizePath(raw);
  const segments = text.split("/");
  if (segments.length > 2) return null;
  const project = segments.length === 2 ? segments[0] : DEFAULT_PROJECT;
  const glob = segments.at(-1) ?? "";
  // A bare `**` would mean every stream of every project: refused, like any glob over projects.
  if (segments.length === 1 && glob === "**") return null;
  if (project === undefined || !validAddress(project, glob === "*" || glob === "**" ? "x" : glob)) return null;
  return { text, project, glob };
}

function validAddress(project: string, stream: string): boolean {
  try {
    addressOf(project, stream);
    return true;
  } catch {
    return false;
  }
}

/** Whether the stream (by its object name) is covered by the pattern. */
export function patternCovers(pattern: Pattern, key: string): boolean {
  const slash = key.indexOf("/");
  const project = key.slice(0, slash);
  const stream = key.slice(slash + 1);
  return project === pattern.project && globMatches(pattern.glob, stream);
}
