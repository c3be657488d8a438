// The machine description and the markdown tables printed after a run (and kept in the results JSON).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, release, totalmem, type } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CpuUsage } from "./cpu.ts";
import { percentile, sorted } from "./stats.ts";
import type { Figure } from "./model.ts";
import type { FanoutReport, SizeResult, Verification } from "./scenarios/fanout.ts";
import type { WsReport } from "./scenarios/websocket.ts";
import type { TargetKey } from "./servers.ts";

const projectRoot = fileURLToPath(new URL("../", import.meta.url));

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  /** The workerd that wrangler dev runs (wrangler may carry its own copy, next to another one at the top level). */
  workerd: string;
  /** The top-level node_modules/workerd, which the test pool uses; may differ from the one wrangler runs. */
  workerdTopLevel: string;
  wrangler: string;
  referenceServer: string;
  undici: string;
}

function packageVersion(packageJson: string): string {
  try {
    return (JSON.parse(readFileSync(packageJson, "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "not installed";
  }
}

/** Walks up from a resolved module file to the package.json of the package named `name`. */
function versionOf(name: string, fromPackageJson: string): string {
  try {
    let dir = dirname(createRequire(fromPackageJson).resolve(name));
    for (let depth = 0; depth < 6; depth++) {
      const candidate = join(dir, "package.json");
      try {
        const parsed = JSON.parse(readFileSync(candidate, "utf8")) as { name?: string; version?: string };
        if (parsed.name === name) return parsed.version ?? "unknown";
      } catch {
        // No package.json at this level.
      }
      dir = dirname(dir);
    }
  } catch {
    // Not resolvable from there.
  }
  return "unknown";
}

export function describeMachine(): Machine {
  const modules = join(projectRoot, "node_modules");
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${type()} ${release()}`,
    node: process.version,
    workerd: versionOf("workerd", join(modules, "wrangler", "package.json")),
    workerdTopLevel: packageVersion(join(modules, "workerd", "package.json")),
    wrangler: packageVersion(join(modules, "wrangler", "package.json")),
    referenceServer: packageVersion(join(modules, "@durable-streams", "server", "package.json")),
    undici: packageVersion(join(modules, "undici", "package.json")),
  };
}

export function machineLines(machine: Machine): string[] {
  return [
    `- CPU: ${machine.cores} cores (${machine.cpuModel}), memory ${machine.memoryGiB} GiB, ${machine.os}`,
    `- Node ${machine.node}; workerd ${machine.workerd} (run by wrangler ${machine.wrangler}; top-level node_modules/workerd is ${machine.workerdTopLevel})`,
    `- reference: @durable-streams/server ${machine.referenceServer}; load generator: undici ${machine.undici}`,
  ];
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  const magnitude = Math.abs(value);
  if (magnitude >= 1_000) return Math.round(value).toLocaleString("en-US");
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function cell(figure: Figure | undefined): string {
  if (!figure) return "–";
  const { median, min, max } = figure.value;
  const errors = figure.errors > 0 ? `, ${figure.errors} errors` : "";
  // Not applicable on this server (the reference has no WebSocket reads), or no sample at all.
  if (!Number.isFinite(median)) return `n/a${errors}`;
  const range = min === max ? "" : ` (${formatNumber(min)}–${formatNumber(max)})`;
  return `${formatNumber(median)}${figure.unit && figure.unit !== "/s" ? ` ${figure.unit}` : ""}${range}${errors}`;
}

function ratio(ours: Figure | undefined, reference: Figure | undefined): string {
  // A ratio of a negative or zero figure (a reader that gets data before the writer's 2xx) means nothing.
  if (!ours || !reference || !(ours.value.median > 0) || !(reference.value.median > 0)) return "–";
  return `${(ours.value.median / reference.value.median).toFixed(2)}x`;
}

export type FiguresByTarget = Partial<Record<TargetKey, Figure[]>>;

/** Row order follows the first target that has each row; rows missing on a target show "–". */
function rowIds(byTarget: FiguresByTarget): string[] {
  const ids: string[] = [];
  for (const figures of Object.values(byTarget)) for (const figure of figures ?? []) if (!ids.includes(figure.id)) ids.push(figure.id);
  return ids;
}

function find(byTarget: FiguresByTarget, key: TargetKey, id: string): Figure | undefined {
  return byTarget[key]?.find((figure) => figure.id === id);
}

export function resultsTable(byTarget: FiguresByTarget): string[] {
  const lines = [
    "| scenario | ours | reference (in-memory) | reference (file) | ours / reference in-memory | minimal Worker + DO | ours / minimal |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const id of rowIds(byTarget)) {
    const ours = find(byTarget, "ours", id);
    const memory = find(byTarget, "refMemory", id);
    const file = find(byTarget, "refFile", id);
    const platform = find(byTarget, "platform", id);
    const label = (ours ?? memory ?? file ?? platform)?.label ?? id;
    lines.push(`| ${label} | ${cell(ours)} | ${cell(memory)} | ${cell(file)} | ${ratio(ours, memory)} | ${cell(platform)} | ${ratio(ours, platform)} |`);
  }
  return lines;
}

function cpuCell(usage: CpuUsage | undefined): string {
  if (!usage) return "–";
  return `${usage.serverPct.toFixed(0)}% (busiest thread ${usage.busiestThreadPct.toFixed(0)}% ${usage.busiestThreadName}); client ${usage.clientPct.toFixed(0)}%`;
}

/** Server CPU during each measured series: near 100% on one thread means that thread is the limit. */
export function cpuTable(byTarget: FiguresByTarget): string[] {
  const lines = [
    "| series | ours | reference (in-memory) | reference (file) | minimal Worker + DO |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const id of rowIds(byTarget)) {
    const figures = (["ours", "refMemory", "refFile", "platform"] as const).map((key) => find(byTarget, key, id));
    if (figures.every((figure) => !figure?.cpu)) continue;
    const label = figures.find((figure) => figure)?.label ?? id;
    lines.push(`| ${label} | ${figures.map((figure) => cpuCell(figure?.cpu)).join(" | ")} |`);
  }
  return lines;
}

/** Nearest-rank percentile of the values present, in ms. */
function samples(values: readonly (number | null)[], p = 50): string {
  const present = values.filter((value): value is number => value !== null).sort((a, b) => a - b);
  if (present.length === 0) return "–";
  const rank = Math.min(present.length - 1, Math.max(0, Math.ceil((p / 100) * present.length) - 1));
  return `${formatNumber(present[rank] ?? Number.NaN)} ms`;
}

function verified(size: SizeResult, verifications: readonly Verification[]): string {
  const check = verifications.find((verification) => verification.source === size.source);
  if (!check) return "not checked";
  return check.wrong === 0 ? `all ${check.exact} exact` : `${check.wrong} of ${check.estuaries} WRONG`;
}

/** Per fan-out size: where the time between the POST's 2xx and the last delivery goes. */
export function fanoutTable(report: FanoutReport): string[] {
  const lines = [
    "| N | mode | subscribe | publishes | source POST, p50 / p99 | after 2xx: handed on, p50 | first delivery, p50 | all hold it, p50 / p99 | POST sent → all hold it, p50 / p99 | server CPU during publishes | RPCs / msg | rows / msg | queue msgs / publish | estuaries checked |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const size of report.sizes) {
    const per = (value: number) => (size.cost.messagesDelivered > 0 ? (value / size.cost.messagesDelivered).toFixed(3) : "n/a");
    const all = size.delivered.map((delivery) => delivery.allMs);
    const post = size.delivered.map((delivery) => delivery.postMs);
    const total = size.delivered.map((delivery) => delivery.postMs + delivery.allMs);
    const n = size.bounded ? `${size.subscribed} of ${size.requested}` : String(size.requested);
    lines.push(
      `| ${n} | ${size.mode} | ${formatNumber(size.subscribeMs / 1000)} s | ${size.publishes}${size.failures.length ? ` (${size.failures.length} failed)` : ""} | ` +
        `${samples(post)} / ${samples(post, 99)} | ${samples(size.delivered.map((delivery) => delivery.handedOnMs))} | ` +
        `${samples(size.delivered.map((delivery) => delivery.firstMs))} | ${samples(all)} / ${samples(all, 99)} | ${samples(total)} / ${samples(total, 99)} | ` +
        `${size.cpu.serverPct.toFixed(0)}% (busiest thread ${size.cpu.busiestThreadPct.toFixed(0)}%) | ${per(size.cost.rpcs)} | ${per(size.cost.rowsWritten)} | ` +
        `${size.publishes > 0 ? (size.cost.queueMessages / size.publishes).toFixed(2) : "n/a"} | ${verified(size, report.verifications)} |`,
    );
  }
  return lines;
}

/** Per WebSocket run: setup, the append's own latency, first and last socket, CPU, and the check of every socket. */
export function wsTable(report: WsReport): string[] {
  const lines = [
    "| run | sockets | mode | subscribe | open all sockets | appends | POST, p50 / p99 | unwatched POST, p50 / p99 (watched / unwatched p50) | sent → first socket, p50 | sent → all hold it, p50 / p99 | server CPU during appends | client CPU | sockets checked | close all (unfinished) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const run of report.runs) {
    const post = run.appends.map((delivery) => delivery.postMs);
    const all = run.appends.map((delivery) => delivery.allMs);
    const unwatched = run.appends.flatMap((delivery) => (delivery.unwatchedPostMs === null ? [] : [delivery.unwatchedPostMs]));
    const ratio = unwatched.length ? ` (${(percentile(sorted(post), 50) / percentile(sorted(unwatched), 50)).toFixed(2)}x)` : "";
    const unwatchedCell = unwatched.length ? `${samples(unwatched)} / ${samples(unwatched, 99)}${ratio}` : "–";
    const sockets = run.opened < run.requested ? `${run.opened} of ${run.requested}` : String(run.requested);
    const check = run.check ? (run.check.wrong === 0 ? `all ${run.check.exact} exact` : `${run.check.wrong} of ${run.opened} WRONG (${run.check.duplicates} dup, ${run.check.missing} missing)`) : "not checked";
    lines.push(
      `| ${run.kind === "stream" ? "one stream" : "per-user channels"} | ${sockets} | ${run.mode || "–"} | ${run.subscribeMs === null ? "–" : `${formatNumber(run.subscribeMs / 1000)} s`} | ` +
        `${formatNumber(run.openMs / 1000)} s | ${run.appends.length}${run.failures.length ? ` (${run.failures.length} failures)` : ""} | ${samples(post)} / ${samples(post, 99)} | ${unwatchedCell} | ` +
        `${samples(run.appends.map((delivery) => delivery.firstMs))} | ${samples(all)} / ${samples(all, 99)} | ` +
        `${run.cpu ? `${run.cpu.serverPct.toFixed(0)}% (busiest thread ${run.cpu.busiestThreadPct.toFixed(0)}%)` : "–"} | ${run.cpu ? `${run.cpu.clientPct.toFixed(0)}%` : "–"} | ${check} | ${formatNumber(run.closeMs / 1000)} s (${run.closeUnfinished}) |`,
    );
  }
  for (const run of report.runs) if (run.limitedBy) lines.push("", `- ${run.limitedBy}`);
  return lines;
}
