// Prints one greppable pass/fail line per test group at the end of a run.
import type { Reporter, TestModule } from "vitest/node";

const groups: ReadonlyArray<{ label: string; matches: (moduleId: string) => boolean }> = [
  { label: "conformance", matches: (id) => id.endsWith("/test/conformance/conformance.test.ts") },
  { label: "client", matches: (id) => /\/test\/client\/[^/]+\.test\.ts$/.test(id) },
];

export default class CountsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    for (const group of groups) {
      let passed = 0;
      let failed = 0;
      for (const mod of testModules) {
        if (!group.matches(mod.moduleId.replaceAll("\\", "/"))) continue;
        for (const test of mod.children.allTests()) {
          const state = test.result().state;
          if (state === "passed") passed++;
          else if (state === "failed") failed++;
        }
        // A file that fails to load has no tests; count it so it cannot look green.
        if (mod.state() === "failed" && !mod.children.size) failed++;
      }
      process.stdout.write(`${group.label}: ${passed} passed, ${failed} failed\n`);
    }
  }
}
