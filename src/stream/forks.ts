// The source side of forks: a fork registers here to inherit this stream's data below its fork
// point, which pins that data until the fork releases it (a soft-deleted source waits for that).
import { fail } from "../errors";
import { sameMediaType } from "../protocol/content-type";
import type { RegisterFork, RegisterForkResult, ReleaseFork } from "./commands";
import type { StreamLog } from "./log";
import type { StreamMeta } from "./repository";

export class ForkRegistry {
  constructor(private readonly log: StreamLog) {}

  /** Validates the fork point, pins this stream's data for the fork, returns what the fork inherits. */
  async register(meta: StreamMeta, req: RegisterFork): Promise<RegisterForkResult> {
    if (req.contentType !== undefined && !sameMediaType(req.contentType, meta.contentType)) {
      return fail("conflict", "fork content type must match the source stream");
    }
    const position = req.position ?? meta.tail;
    if (position > meta.tail) return fail("bad_request", "fork offset is beyond the end of the source stream");
    if (!this.log.reader.isReadBoundary(meta, position)) return fail("bad_request", "fork offset is not a message boundary");

    let prefix: Uint8Array[] = [];
    if (req.subOffset > 0) {
      const selected = await this.log.reader.selectSubOffset(meta, position, req.subOffset);
      if (!Array.isArray(selected)) return selected;
      prefix = selected;
    }
    this.log.repo.addFork(req.forkName, req.generation);
    return { ok: true, contentType: meta.contentType, ttlSeconds: meta.ttlSeconds, expiresAt: meta.expiresAt, position, prefix };
  }

  /** Unpins for one fork; true when this was the last fork of a soft-deleted stream. */
  release(req: ReleaseFork): boolean {
    if (!this.log.meta || !this.log.schema.exists) return false;
    this.log.repo.removeFork(req.fork, req.generation);
    return this.log.meta.status === "soft_deleted" && this.count() === 0;
  }

  count(): number {
    return this.log.schema.exists ? this.log.repo.forkCount() : 0;
  }
}
