// `npm test`: the checks (types, lint, a deploy dry run), then every vitest run, then one closing line
// summing all runs' tests. Checks stop the run at their first failure (nothing after them is worth
// running on code that does not build); vitest runs all go, so the total covers the whole suite.
// Exits 1 when any step failed.
/// <reference types="node" />
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exitCodeOf, summaryLine, type RunCounts, type StepResult } from "./test-summary.ts";

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
const vitest = join(projectRoot, "node_modules", "vitest", "vitest.mjs");
const reporter = "./test/support/counts-reporter.ts";

const CHECKS = ["typecheck", "lint", "check:deploy"] as const;
/** The vitest configs, in the order README describes them. */
const VITEST_CONFIGS = [
  "vitest.config.ts",
  "test/node/vitest.config.ts",
  "test/conformance/vitest.config.ts",
  "test/estuary/vitest.config.ts",
  "test/live/vitest.config.ts",
  "test/security/vitest.config.ts",
  "test/browser/vitest.config.ts",
] as const;

// Node's warning that node:sqlite is experimental, printed by tooling on every green run, is not
// about this project; other warnings still print.
const env = { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, "--disable-warning=ExperimentalWarning"].filter(Boolean).join(" ") };

/**
 * Runs one vitest config with the counts reporter; its counts, or null if it wrote none. Console output
 * of passing tests is dropped: fault-injection tests log their expected failures by the hundred, and a
 * green run should not read like a red one; a failing test's logs still print.
 */
export function runVitest(config: string, output: "inherit" | "ignore" = "inherit"): StepResult {
  const dir = mkdtempSync(join(tmpdir(), "vitest-counts-"));
  const file = join(dir, "counts.json");
  try {
    const run = spawnSync(process.execPath, [vitest, "run", "--config", config, "--reporter=default", `--reporter=${reporter}`, "--silent=passed-only"], {
      cwd: projectRoot,
      stdio: output,
      env: { ...env, COUNTS_FILE: file },
    });
    let counts: RunCounts | null = null;
    try {
      counts = JSON.parse(readFileSync(file, "utf8")) as RunCounts;
    } catch {
      counts = null;
    }
    return { name: config, exitCode: run.status ?? 1, counts, vitest: true };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runCheck(script: string): StepResult {
  const run = spawnSync("npm", ["run", "--silent", script], { cwd: projectRoot, stdio: "inherit", env, shell: process.platform === "win32" });
  return { name: script, exitCode: run.status ?? 1, counts: null, vitest: false };
}

function main(): number {
  const steps: StepResult[] = [];
  for (const check of CHECKS) {
    const step = runCheck(check);
    steps.push(step);
    if (step.exitCode !== 0) break;
  }
  if (exitCodeOf(steps) === 0) for (const config of VITEST_CONFIGS) steps.push(runVitest(config));
  process.stdout.write(`\n${summaryLine(steps)}\n`);
  return exitCodeOf(steps);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit(main());
