// Acks and tails that may be fresher at the stream than here: an ack beyond the tail this object
// knows, and a claim that finds nothing pending, ask the streams first (the append that moved them
// may still be on its way here). Each asks at most `budget` streams (budget.ts): a claim over a
// large glob asks the next `budget` links after the ones the last claim asked, in turn.
import type { HeadResult } from "../stream/commands";
import { mapLimit } from "../map-limit";
import { formatOffset } from "../protocol/offsets";
import type { WakeAnswer } from "./commands";
import type { DsFailure } from "./errors";
import { ackBeyondTail, checkAck } from "./links";
import { parseStreamRef } from "./paths";
import type { Link, SubscriptionRepository } from "./repository";

/** Streams asked for their tails side by side. */
const REFRESH_CONCURRENCY = 16;

/** Asks a stream (by its object name) for its head. */
export type HeadOf = (streamKey: string) => Promise<HeadResult>;

/** Checks every ack, then moves them all (all or nothing). */
export async function applyAcks(
  head: HeadOf,
  budget: number,
  storage: DurableObjectStorage,
  repo: SubscriptionRepository,
  acks: NonNullable<WakeAnswer["acks"]>,
): Promise<DsFailure | null> {
  const moves: { path: string; offset: string }[] = [];
  let asked = 0;
  for (const ack of acks) {
    const ref = parseStreamRef(ack.stream ?? ack.path ?? "");
    let link: Link | null = ref ? repo.link(ref.path) : null;
    let checked = checkAck(link, ack.offset, link?.tail ?? 0);
    // Past the budget, an ack beyond the known tail is refused without asking (the client retries).
    if (!checked.ok && link && ackBeyondTail(ack.offset, link.tail) && asked < budget) {
      asked++;
      const answer = await head(link.streamKey);
      link = ref ? repo.link(ref.path) : null;
      if (answer.ok && link && answer.tail > link.tail) repo.saveLink((link = { ...link, tail: answer.tail }));
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

/**
 * Asks up to `budget` linked streams for their tails, starting after the link `after` and wrapping
 * around; answers the last link asked (where the next refresh starts), or null if none is linked.
 */
export async function refreshTails(head: HeadOf, budget: number, repo: SubscriptionRepository, after: string | null): Promise<string | null> {
  const links = repo.linksAfter(after, budget);
  if (after !== null && links.length < budget) links.push(...repo.linksAfter(null, budget - links.length).filter((link) => link.path <= after));
  await mapLimit(links, REFRESH_CONCURRENCY, async (link) => {
    const answer = await head(link.streamKey).catch(() => null);
    const fresh = repo.link(link.path);
    if (answer?.ok && fresh && answer.tail > fresh.tail) repo.saveLink({ ...fresh, tail: answer.tail });
  });
  return links.at(-1)?.path ?? null;
}
