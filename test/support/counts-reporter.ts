// Counts a vitest run's tests. Prints one greppable pass/fail line per test group that ran (the
// conformance suite, the client tests), and with COUNTS_FILE set writes the run's totals there, so
// `npm test` (test/support/run-tests.ts) can close with one line for all its runs.
import { writeFileSync } from "node:fs";
import type { Reporter, TestModule } from "vitest/node";
import type { RunCounts } from "./test-summary";

const groups: ReadonlyArray<{ label: string; matches: (moduleId: string) => boolean }> = [
  { label: "conformance", matches: (id) => id.endsWith("/test/conformance/conformance.test.ts") },
  { label: "client", matches: (id) => /\/test\/client\/[^/]+\.test\.ts$/.test(id) },
];

function count(testModules: ReadonlyArray<TestModule>): RunCounts {
  const counts: RunCounts = { passed: 0, failed: 0, skipped: 0 };
  for (const mod of testModules) {
    for (const test of mod.children.allTests()) {
      const state = test.result().state;
      if (state === "passed") counts.passed++;
      else if (state === "failed") counts.failed++;
      else if (state === "skipped") counts.skipped++;
    }
    // A file that fails to load has no tests; count it so it cannot look green.
    if (mod.state() === "failed" && !mod.children.size) counts.failed++;
  }
  return counts;
}

export default class CountsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    for (const group of groups) {
      const members = testModules.filter((mod) => group.matches(mod.moduleId.replaceAll("\\", "/")));
      if (!members.length) continue;
      const { passed, failed } = count(members);
      process.stdout.write(`${group.label}: ${passed} passed, ${failed} failed\n`);
    }
    const file = process.env.COUNTS_FILE;
    if (file) {
      const counts = count(testModules);
      // An error outside any test fails the run (vitest exits 1); count it so the total says so.
      counts.failed += unhandledErrors.length;
      writeFileSync(file, JSON.stringify(counts));
    }
  }
}
