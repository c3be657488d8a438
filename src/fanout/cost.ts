// Adding up fan-out cost counters (the shape is in the wire contract: contract/fanout.ts).
import type { FanoutCost } from "../contract/fanout";

export { NO_COST } from "../contract/fanout";

export function addCost(a: FanoutCost, b: Partial<FanoutCost>): FanoutCost {
  return {
    messagesDelivered: a.messagesDelivered + (b.messagesDelivered ?? 0),
    rpcs: a.rpcs + (b.rpcs ?? 0),
    sourceReads: a.sourceReads + (b.sourceReads ?? 0),
    rowsWritten: a.rowsWritten + (b.rowsWritten ?? 0),
    queueMessages: a.queueMessages + (b.queueMessages ?? 0),
  };
}
