// The closing line of `npm test`: the counts of every vitest run summed, and which steps failed.
// Pure, so test/node/test-summary.test.ts checks the arithmetic without starting a run.

/** What one vitest run's counts reporter wrote (test/support/counts-reporter.ts, COUNTS_FILE). */
export interface RunCounts {
  passed: number;
  failed: number;
  skipped: number;
}

/** One step of `npm test`: a check (typecheck, lint, ...) has no counts; a vitest run has them. */
export interface StepResult {
  name: string;
  exitCode: number;
  /** null for checks, and for a vitest run that died before its reporter wrote anything. */
  counts: RunCounts | null;
  vitest: boolean;
}

/** A step failed if it exited non-zero, or (a vitest run) it reported a failed test or no counts. */
export function stepFailed(step: StepResult): boolean {
  return step.exitCode !== 0 || (step.vitest && (step.counts === null || step.counts.failed > 0));
}

export function summaryLine(steps: readonly StepResult[]): string {
  const runs = steps.filter((step) => step.vitest);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const run of runs) {
    passed += run.counts?.passed ?? 0;
    failed += run.counts?.failed ?? 0;
    skipped += run.counts?.skipped ?? 0;
  }
  const failedSteps = steps.filter(stepFailed).map((step) => step.name);
  const skippedText = skipped ? `, ${skipped} skipped` : "";
  const failedText = failedSteps.length ? `; failed: ${failedSteps.join(", ")}` : "";
  return `npm test: ${passed} passed, ${failed} failed${skippedText} (${runs.length} ${runs.length === 1 ? "run" : "runs"}${failedText})`;
}

/** `npm test` exits 1 when any step failed, even one with no failed test (a crash, a config error). */
export function exitCodeOf(steps: readonly StepResult[]): number {
  return steps.some(stepFailed) ? 1 : 0;
}
