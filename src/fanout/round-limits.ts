// The bounds one fan-out run stays within, from the platform's limits (Cloudflare Workers and Queues,
// as published): a budget of calls out per invocation, and queue sends cut to what one sendBatch
// accepts whatever the estuary names' lengths.

export interface RoundLimits {
  /**
   * Calls out (source reads, delivery RPCs, queue sends) one run makes before it stops and lets a
   * new invocation (the alarm) go on: a tenth of the 10,000 subrequests an invocation may make, so
   * an alarm, its outbox calls and a run that overshoots by one step of deliveries stay far below.
   */
  callsPerRun: number;
  /** Messages per sendBatch call: the platform allows 100. */
  batchMessages: number;
  /** Bytes per sendBatch call: the platform allows 256 KB, counted with about 100 bytes of metadata per message. */
  batchBytes: number;
}

/** Metadata the platform counts with each queue message, rounded up. */
const MESSAGE_OVERHEAD_BYTES = 128;

export const ROUND_LIMITS: RoundLimits = { callsPerRun: 1_000, batchMessages: 100, batchBytes: 256 * 1_000 - 4_096 };

/** Splits queue message bodies into sendBatch calls within the message and byte limits, in order. */
export function sendBatches<T>(bodies: readonly T[], limits: Pick<RoundLimits, "batchMessages" | "batchBytes">): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = new TextEncoder().encode(JSON.stringify(body)).length + MESSAGE_OVERHEAD_BYTES;
    if (batch.length > 0 && (batch.length >= limits.batchMessages || bytes + size > limits.batchBytes)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(body);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** The calls out one run has made, against its limits' callsPerRun. */
export class CallBudget {
  private spent = 0;

  constructor(readonly limits: RoundLimits) {}

  spend(calls: number): void {
    this.spent += calls;
  }

  /** Whether the run has spent its budget of calls out. */
  exhausted(): boolean {
    return this.spent >= this.limits.callsPerRun;
  }
}
