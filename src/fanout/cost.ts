// Adding up fan-out cost counters (the shape is in the wire contract: contract/fanout.ts).
import type { FanoutCost } from "../contract/fanout";
import { NO_COST } from "../contract/fanout";

export { NO_COST };

export function addCost(a: FanoutCost, b: Partial<FanoutCost>): FanoutCost {
  const sum = { ...a };
  for (const key of Object.keys(NO_COST) as (keyof FanoutCost)[]) sum[key] = a[key] + (b[key] ?? 0);
  return sum;
}
