// PUT: creates a stream, or a fork that inherits its source's data below the fork point.
import type { Env } from "../env";
import { streamStub } from "./stub";
import { fail } from "../errors";
import { DEFAULT_CONTENT_TYPE, isJsonMode } from "../protocol/content-type";
import type { AlarmPlanner } from "../storage/alarm-planner";
import type { Outbox } from "../storage/outbox";
import { pendingForkReleaseKey, type StreamCall } from "./calls";
import { toChunks } from "./chunks";
import type { CreateCommand, CreateResult } from "./commands";
import { sameConfiguration } from "./create-config";
import { splitJsonMessages } from "./json-messages";
import type { StreamLog } from "./log";
import { info } from "./meta";
import type { StreamMeta } from "./repository";

/**
 * A fork registers with its source before it stores anything, so it first writes a release of that
 * registration due after this long, and cancels it in the transaction that creates the fork. If the
 * fork dies in between, the release still happens: the source's data is never pinned for nothing.
 * Far longer than a registration call can take.
 */
const PENDING_RELEASE_MS = 60_000;

export interface CreateDeps {
  env: Env;
  log: StreamLog;
  outbox: Outbox<StreamCall>;
  alarms: AlarmPlanner;
}

/** `cmd` is validated; the stream is known not to be active (the caller checked). */
export async function createStream({ env, log, outbox, alarms }: CreateDeps, cmd: CreateCommand, now: number): Promise<CreateResult> {
  const generation = (log.meta?.generation ?? 0) + 1;
  let contentType = cmd.contentType ?? DEFAULT_CONTENT_TYPE;
  let ttlSeconds = cmd.ttlSeconds ?? null;
  let expiresAt = cmd.expiresAt ?? null;
  let forkPosition: number | null = null;
  let prefix: Uint8Array[] = [];
  const releaseKey = pendingForkReleaseKey(cmd.name, generation);

  if (cmd.fork) {
    const release: StreamCall = { kind: "releaseFork", source: cmd.fork.source, fork: cmd.name, generation };
    log.schema.ensure();
    outbox.add([{ call: release, key: releaseKey, dueAt: now + PENDING_RELEASE_MS }]);
    // The alarm that makes it must be set before the call, or a fork dying mid-call would leave it unmade.
    alarms.plan();
    const source = await streamStub(env, cmd.fork.source).registerFork({
      forkName: cmd.name,
      generation,
      position: cmd.fork.position,
      subOffset: cmd.fork.subOffset,
      contentType: cmd.contentType,
    });
    // A concurrent PUT of the same fork may have created it while this one awaited the source:
    // answer as for an existing stream rather than wipe what it stored.
    const raced = log.meta;
    if (raced && raced.status === "active" && raced.generation === generation) return confirmExisting(raced, cmd);
    if (!source.ok) return source;
    contentType = cmd.contentType ?? source.contentType;
    if (cmd.ttlSeconds === undefined && cmd.expiresAt === undefined) {
      ttlSeconds = source.ttlSeconds;
      expiresAt = source.expiresAt;
    }
    forkPosition = source.position;
    prefix = source.prefix;
  }

  const messages = cmd.body.length === 0 ? [] : isJsonMode(contentType) ? splitJsonMessages(cmd.body, true) : [cmd.body];
  if (!Array.isArray(messages)) {
    // Refused after registering: release the registration now rather than when the grace ends.
    if (cmd.fork) outbox.add([{ call: { kind: "releaseFork", source: cmd.fork.source, fork: cmd.name, generation }, key: releaseKey }]);
    return messages;
  }

  const start = forkPosition ?? 0;
  const prefixChunks = toChunks(start, prefix);
  const bodyStart = prefixChunks.at(-1)?.end ?? start;
  const bodyChunks = toChunks(bodyStart, messages);
  const meta: StreamMeta = {
    generation,
    status: "active",
    name: cmd.name,
    contentType,
    ttlSeconds,
    expiresAt,
    lastAccess: now,
    tail: bodyChunks.at(-1)?.end ?? bodyStart,
    closed: cmd.closed,
    closedBy: null,
    lastStreamSeq: null,
    forkSource: cmd.fork?.source ?? null,
    forkPosition,
    forkSubOffset: cmd.fork ? cmd.fork.subOffset : null,
    estuary: cmd.estuary ?? false,
    fanout: false,
    public: cmd.public ?? false,
    retention: cmd.retention ?? cmd.defaultRetention ?? null,
    retentionDefault: cmd.retention === undefined && cmd.defaultRetention !== undefined,
    earliest: 0,
  };
  log.initialize(meta, [...prefixChunks, ...bodyChunks], () => {
    if (cmd.fork) outbox.cancel(releaseKey);
    // Joins its project's stream registry, so subscriptions whose globs match it find it.
    outbox.add([{ call: { kind: "registerStream", stream: cmd.name, generation } }]);
  });
  return { ok: true, created: true, ...info(meta) };
}

/** PUT on an existing stream: 200 with the same configuration, 409 with another. */
export function confirmExisting(meta: StreamMeta, cmd: CreateCommand): CreateResult {
  if (!sameConfiguration(meta, cmd)) return fail("conflict", "stream already exists with a different configuration");
  return { ok: true, created: false, ...info(meta) };
}
