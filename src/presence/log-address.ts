// Where a stream's presence log lives: a companion stream, the StreamDO named after the source with
// a reserved suffix. "@" is outside the stream name charset, so no client can create, write or
// delete it through the stream routes; it is read through /v1/presence/{project}/{stream}/events
// with the source stream's access rules. It never joins the project's registry (no listing, no
// subscription glob matches it).
import type { StreamAddress } from "../protocol/stream-address";

const SUFFIX = "@presence";

export function presenceLogKey(source: string): string {
  return `${source}${SUFFIX}`;
}

export function isPresenceLog(key: string): boolean {
  return key.endsWith(SUFFIX);
}

/** The source's address, with the presence log's object as the one to read. */
export function presenceLogAddress(source: StreamAddress): StreamAddress {
  return { ...source, key: presenceLogKey(source.key) };
}
