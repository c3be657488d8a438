// The WebSocket scenario's rows: one p50 and one p99 figure per run, and n/a rows for servers without WebSocket reads.
import { FULL, type Figure, type ScenarioContext } from "../model.ts";
import { percentile, sorted, type Spread } from "../stats.ts";
import type { WsRun } from "./websocket.ts";

function sampleSpread(samples: readonly number[], p: number): Spread {
  const ordered = sorted(samples);
  return { median: percentile(ordered, p), min: ordered[0] ?? Number.NaN, max: ordered[ordered.length - 1] ?? Number.NaN, rounds: [...samples] };
}

/** The row labels; in a quick run they say the full run opens more sockets. */
function label(ctx: ScenarioContext, kind: WsRun["kind"], count: string, mode: string): string {
  const full = kind === "stream" ? FULL.wsSockets.map((n) => n.toLocaleString("en-US")).join(" and ") : FULL.wsUsers.toLocaleString("en-US");
  const scale = ctx.profile.quick ? `; quick run, the full run has ${full}` : "";
  return kind === "stream"
    ? `${count} WebSockets on one stream${scale}: append sent -> all hold it`
    : `per-user channels: ${count} estuaries on one source, one WebSocket each (${mode || "fan-out"}${scale}): publish sent -> all hold it`;
}

export function runFigures(ctx: ScenarioContext, run: WsRun): Figure[] {
  const count = run.opened < run.requested ? `${run.opened} of ${run.requested}` : `${run.requested}`;
  const text = label(ctx, run.kind, count, run.mode);
  const all = run.appends.map((delivery) => delivery.allMs);
  const errors = run.failures.length;
  const detail = {
    mode: run.mode,
    opened: run.opened,
    openMs: run.openMs,
    subscribeMs: run.subscribeMs,
    postMs: run.appends.map((delivery) => delivery.postMs),
    unwatchedPostMs: run.appends.map((delivery) => delivery.unwatchedPostMs),
    firstMs: run.appends.map((delivery) => delivery.firstMs),
    check: run.check,
    failures: run.failures,
  };
  const id = `ws.${run.kind}.n${run.requested}`;
  return [
    { id: `${id}.p50`, label: `${text}, p50`, unit: "ms", better: "lower", value: sampleSpread(all, 50), spreadOf: "samples", errors, cpu: run.cpu ?? undefined, detail },
    { id: `${id}.p99`, label: `${text}, p99`, unit: "ms", better: "lower", value: sampleSpread(all, 99), spreadOf: "samples", errors },
  ];
}

/** The same rows on a server without WebSocket reads (the reference): n/a. */
export function notApplicable(ctx: ScenarioContext): Figure[] {
  const value: Spread = { median: Number.NaN, min: Number.NaN, max: Number.NaN, rounds: [] };
  const rows: [WsRun["kind"], number][] = [...ctx.profile.wsSockets.map((n): [WsRun["kind"], number] => ["stream", n]), ["users", ctx.profile.wsUsers]];
  return rows.flatMap(([kind, n]) =>
    ["p50", "p99"].map((p) => ({
      id: `ws.${kind}.n${n}.${p}`,
      label: `${label(ctx, kind, String(n), "")}, ${p}`,
      unit: "ms",
      better: "lower" as const,
      value,
      errors: 0,
      detail: { notApplicable: "the reference server has no WebSocket reads or estuaries" },
    })),
  );
}
