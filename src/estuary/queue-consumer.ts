// Queue consumer for fan-out jobs above the inline threshold, and for their dead letters.
// A job names a source range and up to 100 estuaries; the range is read once and delivered to each.
import { subscribersStub, type Env } from "../env";
import { addCost, NO_COST, type FanoutCost } from "./cost";
import { deliverSlice, readSource, totalCost } from "./deliver";
import { FanoutJobSchema, type FanoutJob } from "./messages";

export const DEAD_LETTER_QUEUE = "estuary-fanout-dlq";

export async function consumeFanout(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const deadLetters = batch.queue === DEAD_LETTER_QUEUE;
  // Jobs of one batch name different estuaries, so they run side by side: the last job of a batch
  // does not wait for the others' deliveries.
  await Promise.all(batch.messages.map((message) => consumeJob(message, env, deadLetters)));
}

async function consumeJob(message: Message<unknown>, env: Env, deadLetters: boolean): Promise<void> {
  const parsed = FanoutJobSchema.safeParse(message.body);
  if (!parsed.success) {
    console.error("dropping malformed fan-out job", parsed.error.message);
    message.ack();
    return;
  }
  try {
    // A dead-lettered job is handed back to its source's subscribers object, which repairs the
    // estuaries from the durable source on its own schedule: nothing is dropped.
    if (deadLetters) await subscribersStub(env, parsed.data.source).repair(parsed.data);
    else if (!(await runJob(parsed.data, env))) {
      message.retry();
      return;
    }
    message.ack();
  } catch (error) {
    console.warn("fan-out job failed; retrying", error);
    message.retry();
  }
}

/** Delivers the job's range; false if any estuary failed (a retry is safe: estuaries deduplicate). */
async function runJob(job: FanoutJob, env: Env): Promise<boolean> {
  let cost: FanoutCost = NO_COST;
  try {
    return await deliverJob(job, env, (spent) => {
      cost = addCost(cost, spent);
    });
  } finally {
    // The source's subscribers object keeps the cost counters; a lost report only undercounts.
    await subscribersStub(env, job.source)
      .recordCost(cost)
      .catch(() => undefined);
  }
}

async function deliverJob(job: FanoutJob, env: Env, spend: (cost: Partial<FanoutCost>) => void): Promise<boolean> {
  let from = job.from;
  let estuaries = job.estuaries;
  while (from < job.to && estuaries.length > 0) {
    const slice = await readSource(env, job.source, from, job.to);
    spend({ rpcs: 1, sourceReads: 1 });
    if (!slice) return true;
    const results = await deliverSlice(env, job.source, estuaries, from, slice);
    spend(totalCost(results));
    const gone = results.filter((result) => result.kind === "unsubscribed").map((result) => result.estuary);
    for (const estuary of gone) await subscribersStub(env, job.source).unsubscribe(estuary);
    if (results.some((result) => result.kind === "failed")) return false;
    estuaries = estuaries.filter((estuary) => !gone.includes(estuary));
    from = slice.next;
  }
  return true;
}
