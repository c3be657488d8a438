// Deleting one generation of a stream's cold segments: the outbox call a deletion or expiry writes
// with its wipe (removal.ts). By prefix, so an object a crashed offload put but never recorded goes
// too; a re-created stream has another generation, hence another prefix, and keeps its objects.
import { generationPrefix } from "./segment-keys";

/** R2 lists and deletes at most 1,000 keys per call. */
const KEYS_PER_PAGE = 1_000;

/**
 * Pages per outbox attempt (2 subrequests each). 20 pages remove 20,000 segments, about 20 GB; a
 * larger stream throws once the budget is spent, and the outbox retries the call, which resumes.
 */
const PAGES_PER_ATTEMPT = 20;

export async function deleteColdGeneration(bucket: R2Bucket, stream: string, generation: number): Promise<void> {
  const prefix = generationPrefix(stream, generation);
  for (let page = 0; page < PAGES_PER_ATTEMPT; page++) {
    const listed = await bucket.list({ prefix, limit: KEYS_PER_PAGE });
    if (listed.objects.length > 0) await bucket.delete(listed.objects.map((object) => object.key));
    if (!listed.truncated) return;
  }
  throw new Error(`more cold segments of ${stream} generation ${generation} remain; continuing on the next attempt`);
}
