// Queue consumer for fan-out jobs above the inline threshold, and for their dead letters.
// A job names a source range and up to ESTUARIES_PER_JOB estuaries; the range is read once and
// delivered to each.
import { FanoutJobSchema, type DeliveryError, type FanoutCost, type FanoutJob } from "../contract/fanout";
import type { Env } from "../env";
import { fanoutStub } from "./stub";
import { addCost, NO_COST } from "./cost";
import { deliverSlice, readSource, reportFailures, roundFailure, totalCost } from "./deliver";

export const DEAD_LETTER_QUEUE = "estuary-fanout-dlq";

/**
 * Attempts at handing a dead-lettered job back to its subscribers object (below the dead-letter
 * queue's own max_retries, so this bound is the one that acts and is logged). After the last, the
 * job's record in that object expires into repairs of its estuaries (FANOUT_JOB_TIMEOUT_MS).
 */
export const REPAIR_ATTEMPTS = 3;

export async function consumeFanout(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const deadLetters = batch.queue === DEAD_LETTER_QUEUE;
  // Jobs of one batch name different estuaries, so they run side by side: the last job of a batch
  // does not wait for the others' deliveries.
  await Promise.all(batch.messages.map((message) => consumeJob(message, env, deadLetters)));
}

async function consumeJob(message: Message<unknown>, env: Env, deadLetters: boolean): Promise<void> {
  const parsed = FanoutJobSchema.safeParse(message.body);
  if (!parsed.success) {
    // Never acked: retried, it ends in the dead-letter queue (and there in the platform's record of
    // failed messages) instead of vanishing. It names nothing we could repair, so it is reported.
    console.error(`malformed fan-out job on ${message.id} (attempt ${message.attempts}); retrying toward the dead-letter queue`, parsed.error.message, JSON.stringify(message.body)?.slice(0, 1_000));
    message.retry();
    return;
  }
  try {
    // A dead-lettered job is handed back to its source's subscribers object, which repairs the
    // estuaries from the durable source on its own schedule: nothing is dropped.
    if (deadLetters) await fanoutStub(env, parsed.data.source).repair(parsed.data);
    else if (!(await runJob(parsed.data, env))) {
      message.retry();
      return;
    }
    message.ack();
  } catch (error) {
    if (deadLetters && message.attempts >= REPAIR_ATTEMPTS) {
      // The subscribers object still records the job: it expires there into the same repairs.
      console.error(`handing fan-out job ${parsed.data.jobId} of ${parsed.data.source} back failed ${message.attempts} times; its record expires into repairs`, error);
      message.ack();
      return;
    }
    console.warn(`fan-out job of ${parsed.data.source} failed; retrying`, error);
    message.retry();
  }
}

/** Delivers the job's range; false if any estuary failed (a retry is safe: estuaries deduplicate). */
async function runJob(job: FanoutJob, env: Env): Promise<boolean> {
  const report: Report = { cost: NO_COST, failures: 0, firstError: undefined, behind: [] };
  let delivered = false;
  try {
    delivered = await deliverJob(job, env, report);
    return delivered;
  } catch (error) {
    report.failures++;
    report.firstError ??= roundFailure(job.source, "queue job failed", error);
    throw error;
  } finally {
    // The source's subscribers object keeps the counters and the last error. A job done is reported
    // with its id and the estuaries it left short: the commit policy stops holding them at its start.
    // A lost report undercounts, and the job's record there expires into repairs, so its own
    // failure is logged and not retried.
    const done = delivered && job.jobId !== undefined ? { jobId: job.jobId, behind: report.behind } : undefined;
    await fanoutStub(env, job.source)
      .recordJob({ cost: report.cost, failures: report.failures, firstError: report.firstError, done })
      .catch((error: unknown) => console.warn(`reporting a fan-out job of ${job.source} failed`, error));
  }
}

interface Report {
  cost: FanoutCost;
  failures: number;
  firstError: DeliveryError | undefined;
  /** Estuaries the job left short of its end, at what they hold. */
  behind: { estuary: string; applied?: number }[];
}

async function deliverJob(job: FanoutJob, env: Env, report: Report): Promise<boolean> {
  let from = job.from;
  let estuaries = job.estuaries;
  /** Where each estuary's last delivery left it. */
  const applied = new Map<string, number>();
  while (from < job.to && estuaries.length > 0) {
    const slice = await readSource(env, job.source, from, job.to);
    report.cost = addCost(report.cost, { rpcs: 1, sourceReads: 1 });
    if (!slice) return true;
    // A source that ends before the job's range (created again, shorter) leaves its estuaries where they are.
    if (slice.next <= from) break;
    const results = await deliverSlice(env, job.source, estuaries, from, slice);
    report.cost = addCost(report.cost, totalCost(results));
    const firstError = reportFailures(job.source, results);
    const gone = results.filter((result) => result.kind === "unsubscribed").map((result) => result.estuary);
    for (const estuary of gone) await fanoutStub(env, job.source).unsubscribe(estuary);
    if (firstError) {
      report.failures += results.filter((result) => result.kind === "failed").length;
      report.firstError ??= firstError;
      return false;
    }
    for (const result of results) if (result.kind === "delivered") applied.set(result.estuary, result.applied);
    estuaries = estuaries.filter((estuary) => !gone.includes(estuary));
    from = slice.next;
  }
  for (const estuary of estuaries) {
    const at = applied.get(estuary);
    // Not delivered to at all: where it stands is not known here (the subscribers object knows).
    if (at === undefined) report.behind.push({ estuary });
    else if (at < job.to) report.behind.push({ estuary, applied: at });
  }
  return true;
}
