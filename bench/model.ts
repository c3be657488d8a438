// Shared shapes: the run profile (quick or full), what a scenario gets, and the figures it returns.
import type { CpuUsage } from "./cpu.ts";
import type { Target } from "./servers.ts";
import type { Spread } from "./stats.ts";

export interface Profile {
  quick: boolean;
  /** Load before each measured series, not recorded. */
  warmupMs: number;
  /** Measured rounds per series; each figure is the median of its rounds, with their min and max. */
  rounds: number;
  /** Length of one closed-loop append round. */
  roundMs: number;
  appendConcurrency: readonly number[];
  /** The request-floor series (GET /, HEAD) run at these concurrencies. */
  floorConcurrency: readonly number[];
  /** Appends of the 100-streams series run with this many requests in flight. */
  manyStreamsConcurrency: number;
  catchUpMessages: number;
  /** A catch-up round reads the stream again and again for at least this long. */
  catchUpRoundMs: number;
  liveWarmupSamples: number;
  liveSamplesPerRound: number;
  fanoutSizes: readonly number[];
  /** Timed publishes per fan-out size (after one untimed warm-up publish). */
  fanoutPublishes: (subscribers: number) => number;
  sustainedRounds: number;
  sustainedMs: number;
  sustainedConcurrency: number;
  /**
   * WebSockets opened on one stream (one run per count), each appended message timed until all of
   * them hold it, each watched append followed by one to an unwatched stream (the POST baseline).
   */
  wsSockets: readonly number[];
  /** Per-user channels: estuaries subscribed to one source, one WebSocket on each. */
  wsUsers: number;
  /** Timed appends (publishes) per WebSocket run, after one untimed warm-up. */
  wsAppends: number;
  /** Subscriber counts of the pull scenario (1% of them hot), each on a fresh server. */
  pullSizes: readonly number[];
  /** Upper bound on subscribing one fan-out size; beyond it the size is reported as bounded. */
  subscribeBudgetMs: number;
  /** Upper bound on one publish reaching every estuary before it counts as not delivered. */
  deliveryTimeoutMs: number;
}

export const QUICK: Profile = {
  quick: true,
  warmupMs: 200,
  rounds: 3,
  roundMs: 500,
  appendConcurrency: [1, 16, 64],
  floorConcurrency: [1],
  manyStreamsConcurrency: 64,
  catchUpMessages: 10_000,
  catchUpRoundMs: 300,
  liveWarmupSamples: 10,
  liveSamplesPerRound: 20,
  fanoutSizes: [1, 10, 200, 201],
  fanoutPublishes: () => 5,
  sustainedRounds: 2,
  sustainedMs: 1_000,
  sustainedConcurrency: 8,
  wsSockets: [200],
  wsUsers: 200,
  wsAppends: 10,
  pullSizes: [2_000],
  subscribeBudgetMs: 60_000,
  deliveryTimeoutMs: 30_000,
};

export const FULL: Profile = {
  quick: false,
  warmupMs: 2_000,
  rounds: 5,
  roundMs: 5_000,
  appendConcurrency: [1, 16, 64],
  floorConcurrency: [1, 16],
  manyStreamsConcurrency: 64,
  catchUpMessages: 10_000,
  catchUpRoundMs: 2_000,
  liveWarmupSamples: 20,
  liveSamplesPerRound: 100,
  fanoutSizes: [1, 10, 200, 201, 1_000, 10_000],
  fanoutPublishes: (subscribers) => (subscribers <= 201 ? 30 : subscribers <= 1_000 ? 20 : 10),
  sustainedRounds: 3,
  sustainedMs: 10_000,
  sustainedConcurrency: 8,
  wsSockets: [1_000, 10_000],
  wsUsers: 1_000,
  wsAppends: 20,
  pullSizes: [10_000, 100_000],
  subscribeBudgetMs: 20 * 60_000,
  deliveryTimeoutMs: 300_000,
};

export interface ScenarioContext {
  target: Target;
  profile: Profile;
  /** Progress lines on stderr, so stdout keeps only the report. */
  log: (line: string) => void;
}

/** One row of the report, as measured on one target. */
export interface Figure {
  /** Stable key that joins the same row across targets, e.g. "append.c16.rate". */
  id: string;
  label: string;
  unit: string;
  better: "higher" | "lower";
  value: Spread;
  /**
   * "rounds" (default): the median of per-round figures, with their min and max. "samples": a
   * percentile of all samples of one series, with the smallest and largest sample.
   */
  spreadOf?: "rounds" | "samples";
  /** Requests that failed or answered outside 2xx during the measured rounds. */
  errors: number;
  /** CPU use during the measured rounds (averaged over them). */
  cpu?: CpuUsage;
  /** Anything else worth keeping in the JSON (counters, per-round details). */
  detail?: Record<string, unknown>;
}

export function meanCpu(usages: readonly CpuUsage[]): CpuUsage | undefined {
  if (usages.length === 0) return undefined;
  const mean = (pick: (usage: CpuUsage) => number) => usages.reduce((sum, usage) => sum + pick(usage), 0) / usages.length;
  const names = new Map<string, number>();
  for (const usage of usages) names.set(usage.busiestThreadName, (names.get(usage.busiestThreadName) ?? 0) + 1);
  const busiestThreadName = [...names.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "";
  return {
    serverPct: mean((usage) => usage.serverPct),
    busiestThreadPct: mean((usage) => usage.busiestThreadPct),
    busiestThreadName,
    clientPct: mean((usage) => usage.clientPct),
  };
}
