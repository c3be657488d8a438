// The closing line of `npm test`: every run's counts summed, a failed step named, and a run that
// failed without a failed test (a crash) still failing the whole.
import { describe, expect, it } from "vitest";
import { runVitest } from "../support/run-tests";
import { exitCodeOf, summaryLine, type StepResult } from "../support/test-summary";

const check = (name: string, exitCode = 0): StepResult => ({ name, exitCode, counts: null, vitest: false });
const run = (name: string, passed: number, failed: number, skipped = 0): StepResult => ({ name, exitCode: failed ? 1 : 0, counts: { passed, failed, skipped }, vitest: true });

describe("npm test's summary", () => {
  it("sums the passed and failed tests of every vitest run", () => {
    const steps = [check("typecheck"), check("lint"), run("vitest.config.ts", 700, 0), run("test/live/vitest.config.ts", 34, 0, 2)];
    expect(summaryLine(steps)).toBe("npm test: 734 passed, 0 failed, 2 skipped (2 runs)");
    expect(exitCodeOf(steps)).toBe(0);
  });

  it("names the failing runs and exits 1", () => {
    const steps = [check("typecheck"), run("a", 10, 0), run("b", 5, 2), run("c", 3, 1)];
    expect(summaryLine(steps)).toBe("npm test: 18 passed, 3 failed (3 runs; failed: b, c)");
    expect(exitCodeOf(steps)).toBe(1);
  });

  it("fails on a failed check, and on a run that crashed before counting or exited 1 with no failed test", () => {
    expect(exitCodeOf([check("lint", 1)])).toBe(1);
    expect(summaryLine([check("typecheck"), check("lint", 1)])).toBe("npm test: 0 passed, 0 failed (0 runs; failed: lint)");
    expect(exitCodeOf([{ name: "a", exitCode: 1, counts: null, vitest: true }])).toBe(1);
    expect(exitCodeOf([{ name: "a", exitCode: 0, counts: null, vitest: true }])).toBe(1);
    expect(exitCodeOf([{ name: "a", exitCode: 1, counts: { passed: 3, failed: 0, skipped: 0 }, vitest: true }])).toBe(1);
  });

  it("counts a real vitest run through the same reporter npm test uses", () => {
    const result = runVitest("test/node/fixtures/summary/vitest.config.ts", "ignore");
    expect(result.counts).toEqual({ passed: 1, failed: 1, skipped: 1 });
    expect(result.exitCode).toBe(1);
    expect(summaryLine([check("typecheck"), result])).toBe("npm test: 1 passed, 1 failed, 1 skipped (1 run; failed: test/node/fixtures/summary/vitest.config.ts)");
  }, 60_000);
});
