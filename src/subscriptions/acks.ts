// Acks and tails that may be fresher at the stream than here: an ack beyond the tail this object
// knows, and a claim that finds nothing pending, ask the streams first (the append that moved them
// may still be on its way here).
import { streamStub, type Env } from "../env";
import { mapLimit } from "../map-limit";
import { formatOffset } from "../protocol/offsets";
import type { WakeAnswer } from "./commands";
import type { DsFailure } from "./errors";
import { checkAck } from "./links";
import { parseStreamRef } from "./paths";
import type { Link, SubscriptionRepository } from "./repository";

/** Streams asked for their tails side by side. */
const REFRESH_CONCURRENCY = 16;

/** Checks every ack, then moves them all (all or nothing). */
export async function applyAcks(env: Env, storage: DurableObjectStorage, repo: SubscriptionRepository, acks: NonNullable<WakeAnswer["acks"]>): Promise<DsFailure | null> {
  const moves: { path: string; offset: string }[] = [];
  for (const ack of acks) {
    const ref = parseStreamRef(ack.stream ?? ack.path ?? "");
    let link: Link | null = ref ? repo.link(ref.path) : null;
    let checked = checkAck(link, ack.offset, link?.tail ?? 0);
    if (!checked.ok && link && checked.message.includes("beyond")) {
      const head = await streamStub(env, link.streamKey).head();
      link = ref ? repo.link(ref.path) : null;
      if (head.ok && link && head.tail > link.tail) repo.saveLink((link = { ...link, tail: head.tail }));
      checked = checkAck(link, ack.offset, link?.tail ?? 0);
    }
    if (!checked.ok) return checked;
    if (link) moves.push({ path: link.path, offset: formatOffset(checked.position) });
  }
  storage.transactionSync(() => {
    for (const { path, offset } of moves) {
      const fresh = repo.link(path);
      if (fresh) repo.saveLink({ ...fresh, acked: offset });
    }
  });
  return null;
}

export async function refreshTails(env: Env, repo: SubscriptionRepository): Promise<void> {
  await mapLimit(repo.links(), REFRESH_CONCURRENCY, async (link) => {
    const head = await streamStub(env, link.streamKey).head().catch(() => null);
    const fresh = repo.link(link.path);
    if (head?.ok && fresh && head.tail > fresh.tail) repo.saveLink({ ...fresh, tail: head.tail });
  });
}
