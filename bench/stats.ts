// Percentiles of samples and the median/min/max of per-round figures that every scenario reports.

/** A figure measured once per round: its median and its spread across rounds. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  rounds: number[];
}

export function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Nearest-rank percentile of already sorted samples (NaN when there are none). */
export function percentile(sortedValues: readonly number[], p: number): number {
  if (sortedValues.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sortedValues.length) - 1;
  return sortedValues[Math.min(sortedValues.length - 1, Math.max(0, rank))] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  const ordered = sorted(values);
  if (ordered.length === 0) return Number.NaN;
  const middle = Math.floor(ordered.length / 2);
  if (ordered.length % 2 === 1) return ordered[middle] ?? Number.NaN;
  return ((ordered[middle - 1] ?? Number.NaN) + (ordered[middle] ?? Number.NaN)) / 2;
}

export function spread(rounds: readonly number[]): Spread {
  const ordered = sorted(rounds);
  return {
    median: median(ordered),
    min: ordered[0] ?? Number.NaN,
    max: ordered[ordered.length - 1] ?? Number.NaN,
    rounds: [...rounds],
  };
}

/** p50 and p99 of one round's latency samples, in milliseconds. */
export interface LatencyRound {
  p50: number;
  p99: number;
  samples: number;
}

export function latencyRound(samplesMs: readonly number[]): LatencyRound {
  const ordered = sorted(samplesMs);
  return { p50: percentile(ordered, 50), p99: percentile(ordered, 99), samples: ordered.length };
}

/** p50 and p99 across rounds, each as a spread of the per-round values. */
export interface LatencySpread {
  p50: Spread;
  p99: Spread;
  samplesPerRound: number[];
}

export function latencySpread(rounds: readonly LatencyRound[]): LatencySpread {
  return {
    p50: spread(rounds.map((round) => round.p50)),
    p99: spread(rounds.map((round) => round.p99)),
    samplesPerRound: rounds.map((round) => round.samples),
  };
}
