// Whether a PUT on an existing stream asks for the configuration it already has (200) or not (409).
import type { CreateCommand } from "./commands";
import { DEFAULT_CONTENT_TYPE, sameMediaType } from "../protocol/content-type";
import type { StreamMeta } from "./repository";
import { sameRetention } from "../protocol/retention-policy";

/**
 * Content type, TTL/expiry, closed state, fork origin and retention policy must match. A fork that omits its content
 * type or expiry inherited them from its source, so omitted values match whatever it has.
 */
export function sameConfiguration(meta: StreamMeta, cmd: CreateCommand): boolean {
  const fork = cmd.fork;
  const inheritsType = fork !== undefined && cmd.contentType === undefined;
  const inheritsExpiry = fork !== undefined && cmd.ttlSeconds === undefined && cmd.expiresAt === undefined;
  return (
    (inheritsType || sameMediaType(cmd.contentType ?? DEFAULT_CONTENT_TYPE, meta.contentType)) &&
    (inheritsExpiry || ((cmd.ttlSeconds ?? null) === meta.ttlSeconds && (cmd.expiresAt ?? null) === meta.expiresAt)) &&
    cmd.closed === meta.closed &&
    (cmd.public ?? false) === meta.public &&
    (fork?.source ?? null) === meta.forkSource &&
    (fork?.position === undefined || fork.position === meta.forkPosition) &&
    (fork ? fork.subOffset : null) === meta.forkSubOffset &&
    // Without Stream-Retention, a stream whose policy came from a default matches: the PUT asked for the default.
    (cmd.retention === undefined ? meta.retention === null || meta.retentionDefault : sameRetention(cmd.retention, meta.retention))
  );
}
