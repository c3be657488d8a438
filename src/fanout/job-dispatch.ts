// Queue jobs of the rounds: a range sent for many subscribers as jobs of up to ESTUARIES_PER_JOB
// estuaries, each recorded (jobs.ts) before it is sent, and the jobs nobody reported on expired into
// repairs of their estuaries.
import { ESTUARIES_PER_JOB, type FanoutJob } from "../contract/fanout";
import type { Config } from "../config";
import { addCost } from "./cost";
import { roundFailure } from "./deliver";
import type { FanoutState } from "./fanout-row";
import type { JobEstuary } from "./jobs";
import type { RoundContext } from "./round";
import { sendBatches } from "./round-limits";
import type { Member } from "./subscriber-states";

/** Jobs expired per pass: each expiry writes a row per estuary it names. */
const EXPIRIES_PER_PASS = 50;

/**
 * Sends [from, to) for `members` as queue jobs, each recorded first with the lowest position any of
 * its estuaries is counted at; false if the queue refused (the jobs not sent are taken back).
 */
export async function enqueue(round: RoundContext, state: FanoutState, from: number, to: number, members: readonly Member[]): Promise<boolean> {
  const { source } = state;
  const jobs: FanoutJob[] = [];
  const now = Date.now();
  round.storage.transactionSync(() => {
    for (let i = 0; i < members.length; i += ESTUARIES_PER_JOB) {
      const part = members.slice(i, i + ESTUARIES_PER_JOB);
      const hold = Math.min(from, ...part.map((member) => member.held ?? from));
      const named: JobEstuary[] = part.map((member) => ({ estuary: member.estuary, required: member.required }));
      jobs.push({ jobId: round.jobs.add(from, to, hold, named, now), source, from, to, estuaries: named.map((member) => member.estuary) });
    }
  });
  let sent = 0;
  try {
    for (const batch of sendBatches(jobs, round.budget.limits)) {
      await round.env.FANOUT_QUEUE.sendBatch(batch.map((body) => ({ body })));
      round.budget.spend(1);
      sent += batch.length;
      state.cost = addCost(state.cost, { queueMessages: batch.length });
    }
    return true;
  } catch (error) {
    state.lastError = roundFailure(source, "enqueueing fan-out jobs failed", error);
    // Jobs that went out stay recorded until reported; the rest were never sent. The round goes
    // again and sends the range under new ids (estuaries drop what a job delivers twice).
    for (const job of jobs.slice(sent)) if (job.jobId !== undefined) round.jobs.take(job.jobId);
    return false;
  }
}

/**
 * A job nobody reported on within FANOUT_JOB_TIMEOUT_MS is taken as lost: its estuaries are caught
 * up as laggards from its start (a late delivery of it is dropped by the estuaries as a duplicate).
 * True if any expired.
 */
export function expireJobs(round: RoundContext, now: number, config: Config): boolean {
  let expired = false;
  for (const job of round.jobs.sentBy(now - config.FANOUT_JOB_TIMEOUT_MS, EXPIRIES_PER_PASS)) {
    console.warn(`fan-out job ${job.id} [${job.from}, ${job.to}) got no report in ${config.FANOUT_JOB_TIMEOUT_MS} ms; repairing its ${job.estuaries.length} estuaries`);
    round.storage.transactionSync(() => {
      round.jobs.take(job.id);
      for (const estuary of job.estuaries) round.subscribers.lowerTo(estuary, job.hold, now);
    });
    expired = true;
  }
  return expired;
}
