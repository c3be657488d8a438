// `npm run bench [-- [--quick] [--targets=...] [--scenarios=...] [--fanout=N,...]]`: runs the scenarios
// against each server in turn, prints the tables, writes JSON.
import { mkdir, writeFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { FULL, QUICK, type Figure, type ScenarioContext } from "./model.ts";
import { cpuTable, describeMachine, fanoutTable, machineLines, resultsTable, wsTable, type FiguresByTarget } from "./report.ts";
import { manyStreamAppends, oneStreamAppends } from "./scenarios/appends.ts";
import { catchUpReads } from "./scenarios/catch-up.ts";
import { coldCatchUp } from "./scenarios/cold.ts";
import { catchUpCached } from "./scenarios/catch-up-cache.ts";
import { fanout, type FanoutReport } from "./scenarios/fanout.ts";
import { pullFanout } from "./scenarios/pull.ts";
import { trimCost } from "./scenarios/trim.ts";
import { requestFloor } from "./scenarios/floor.ts";
import { liveLatency } from "./scenarios/live.ts";
import { webSockets, type WsReport } from "./scenarios/websocket.ts";
import { startOurs, startPlatformFloor, startReference, type Target, type TargetKey } from "./servers.ts";

const ALL_TARGETS: readonly TargetKey[] = ["ours", "refMemory", "refFile", "platform"];
const ALL_SCENARIOS = ["floor", "appends", "streams", "catchup", "live", "ws", "fanout", "pull", "trim", "cold"] as const;
type ScenarioKey = (typeof ALL_SCENARIOS)[number];
const USAGE = `usage: npm run bench [-- [--quick] [--targets=${ALL_TARGETS.join(",")}] [--scenarios=${ALL_SCENARIOS.join(",")}] [--fanout=1,1000] [--pull=10000,100000]]`;

/** The listed names, each checked against `known`. */
function pick<T extends string>(value: string, known: readonly T[]): T[] {
  const wanted = value.split(",");
  const unknown = wanted.filter((name) => !known.includes(name as T));
  if (unknown.length > 0) throw new Error(`unknown ${unknown.join(", ")}; ${USAGE}`);
  return known.filter((name) => wanted.includes(name));
}

function parseArgs(argv: readonly string[]) {
  let quick = false;
  let targets = [...ALL_TARGETS];
  let scenarios: ScenarioKey[] = [...ALL_SCENARIOS];
  let fanoutSizes: number[] | undefined;
  let pullSizes: number[] | undefined;
  for (const arg of argv) {
    const [flag, value = ""] = arg.split("=", 2);
    if (arg === "--quick") quick = true;
    else if (flag === "--targets") targets = pick(value, ALL_TARGETS);
    else if (flag === "--scenarios") scenarios = pick(value, ALL_SCENARIOS);
    else if (flag === "--fanout") {
      fanoutSizes = value.split(",").map(Number);
      if (fanoutSizes.some((n) => !Number.isInteger(n) || n < 1 || n > 10_000)) throw new Error(`--fanout takes sizes from 1 to 10000; ${USAGE}`);
    } else if (flag === "--pull") {
      pullSizes = value.split(",").map(Number);
      if (pullSizes.some((n) => !Number.isInteger(n) || n < 100 || n > 1_000_000)) throw new Error(`--pull takes sizes from 100 to 1000000; ${USAGE}`);
    } else throw new Error(`unknown argument ${arg}; ${USAGE}`);
  }
  return { quick, targets, scenarios, fanoutSizes, pullSizes };
}

function start(key: TargetKey): Promise<Target> {
  if (key === "ours") return startOurs();
  if (key === "platform") return startPlatformFloor();
  return startReference(key === "refFile");
}

/** The platform floor answers only what its minimal Worker can: no reads, no estuaries. */
const PLATFORM_SCENARIOS: readonly ScenarioKey[] = ["floor", "appends", "streams"];

const runStarted = performance.now();
function log(line: string): void {
  process.stderr.write(`[${((performance.now() - runStarted) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
}

const { quick, targets, scenarios: wanted, fanoutSizes, pullSizes } = parseArgs(process.argv.slice(2));
const profile = { ...(quick ? QUICK : FULL), ...(fanoutSizes ? { fanoutSizes } : {}), ...(pullSizes ? { pullSizes } : {}) };
const machine = describeMachine();
const byTarget: FiguresByTarget = {};
const failures: string[] = [];
// Written inside a scenario callback; a holder keeps TypeScript from narrowing it to its initial null.
const fanoutResult: { report: FanoutReport | null } = { report: null };
const wsResult: { report: WsReport | null } = { report: null };

for (const key of targets) {
  log(`starting ${key}`);
  const target = await start(key);
  const ctx: ScenarioContext = { target, profile, log: (line) => log(`${key}: ${line}`) };
  const figures: Figure[] = [];
  byTarget[key] = figures;
  // Each scenario uses its own streams; one that fails is reported and the others still run.
  const all: [ScenarioKey, string, () => Promise<Figure[]>][] = [
    ["floor", "request floor", () => requestFloor(ctx)],
    ["appends", "appends to one stream", () => oneStreamAppends(ctx)],
    ["streams", "appends over 100 streams", () => manyStreamAppends(ctx)],
    ["catchup", "catch-up reads", () => catchUpReads(ctx)],
    ["catchup", "catch-up reads, cold and warm", () => catchUpCached(ctx)],
    ["live", "live delivery", () => liveLatency(ctx)],
    [
      "ws",
      "many WebSockets",
      async () => {
        // On the reference this only returns its rows as n/a: it has no WebSocket reads.
        const result = await webSockets(ctx);
        if (key === "ours") wsResult.report = result;
        return result.figures;
      },
    ],
  ];
  if (key === "ours") {
    all.push([
      "fanout",
      "fan-out",
      async () => {
        const result = await fanout(ctx);
        fanoutResult.report = result;
        return result.figures;
      },
    ]);
    all.push(["trim", "retention trim cost", () => trimCost(ctx)]);
    all.push(["cold", "catch-up of a cold range against the same range hot", () => coldCatchUp(ctx)]);
    all.push([
      "pull",
      "push to the hot, pull for the rest",
      async () => {
        const result = await pullFanout(ctx);
        failures.push(...result.failures);
        return result.figures;
      },
    ]);
  }
  const scenarios = all
    .filter(([scenario]) => wanted.includes(scenario) && (key !== "platform" || PLATFORM_SCENARIOS.includes(scenario)))
    .map(([, name, run]) => [name, run] as const);
  try {
    for (const [name, run] of scenarios) {
      try {
        figures.push(...(await run()));
      } catch (error) {
        failures.push(`${key} / ${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        log(`${key}: ${name} FAILED: ${String(error)}`);
      }
    }
  } finally {
    log(`stopping ${key}`);
    await target.stop();
  }
}

const report = fanoutResult.report;
if (report) {
  for (const size of report.sizes) for (const failure of size.failures) failures.push(`fan-out to ${size.requested}: ${failure}`);
  for (const failure of report.setupFailures) failures.push(`fan-out setup: ${failure}`);
  for (const check of report.verifications) {
    if (check.wrong > 0) failures.push(`fan-out verification of ${check.source}: ${check.wrong} of ${check.estuaries} estuaries wrong; ${check.firstProblem}`);
  }
}
const ws = wsResult.report;
if (ws) {
  for (const run of ws.runs) for (const failure of run.failures) failures.push(`WebSockets, ${run.kind === "stream" ? "one stream" : "per-user channels"}: ${failure}`);
  for (const failure of ws.setupFailures) failures.push(`WebSockets setup: ${failure}`);
}
for (const figure of Object.values(byTarget).flat()) {
  if (figure && figure.errors > 0) failures.push(`${figure.label}: ${figure.errors} failed requests`);
}

const runtimeSeconds = (performance.now() - runStarted) / 1000;
const lines = [
  `## Durable Streams benchmark (${quick ? "quick" : "full"} run, ${new Date().toISOString()}, ${runtimeSeconds.toFixed(0)} s)`,
  "",
  ...machineLines(machine),
  "",
  "Cells: median of rounds (min–max of rounds); fan-out rows: percentile of all publishes (fastest–slowest publish).",
  "",
  ...resultsTable(byTarget),
  "",
  "### Server CPU during each series (% of one core; 100% on the busiest thread means that thread is the limit)",
  "",
  ...cpuTable(byTarget),
];
if (ws && ws.runs.length > 0) lines.push("", "### WebSockets, many readers (ours)", "", ...wsTable(ws));
if (report) lines.push("", "### Fan-out, where the time goes (ours)", "", ...fanoutTable(report));
if (failures.length > 0) lines.push("", "### Failures", "", ...failures.map((failure) => `- ${failure.split("\n")[0]}`));
process.stdout.write(`${lines.join("\n")}\n`);

const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
await mkdir(resultsDir, { recursive: true });
const file = `${resultsDir}${new Date().toISOString().replace(/[:.]/g, "-")}-${quick ? "quick" : "full"}.json`;
await writeFile(file, `${JSON.stringify({ quick, runtimeSeconds, machine, profile: { ...profile, fanoutPublishes: profile.fanoutSizes.map((n) => [n, profile.fanoutPublishes(n)]) }, figures: byTarget, websocket: ws, fanout: report, failures }, null, 2)}\n`);
log(`results written to ${file}`);
if (failures.length > 0) {
  for (const failure of failures) log(`FAILURE: ${failure}`);
  process.exitCode = 1;
}
