// What fan-out costs, counted as it happens: the figures behind "cost per delivered message".
import { z } from "zod";

const Count = z.number().int().min(0);

export const FanoutCostSchema = z.object({
  /** Estuary messages written (one source append may be several JSON messages). */
  messagesDelivered: Count,
  /** Durable Object RPCs made to deliver (to estuaries) and to read the source. */
  rpcs: Count,
  /** Reads of a source range; one serves every estuary in a round or queue job. */
  sourceReads: Count,
  /** SQLite rows the estuaries wrote for deliveries (data rows, applied position, metadata). */
  rowsWritten: Count,
  /** Queue messages sent. */
  queueMessages: Count,
});
export type FanoutCost = z.infer<typeof FanoutCostSchema>;

export const NO_COST: FanoutCost = { messagesDelivered: 0, rpcs: 0, sourceReads: 0, rowsWritten: 0, queueMessages: 0 };

export function addCost(a: FanoutCost, b: Partial<FanoutCost>): FanoutCost {
  return {
    messagesDelivered: a.messagesDelivered + (b.messagesDelivered ?? 0),
    rpcs: a.rpcs + (b.rpcs ?? 0),
    sourceReads: a.sourceReads + (b.sourceReads ?? 0),
    rowsWritten: a.rowsWritten + (b.rowsWritten ?? 0),
    queueMessages: a.queueMessages + (b.queueMessages ?? 0),
  };
}
