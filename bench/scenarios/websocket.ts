// Scenario 7 (ours): many WebSocket readers. N sockets on one stream, and N per-user channels (one
// estuary per user, all subscribed to one source, one socket on each): from sending an append until
// every socket holds it.
import { performance } from "node:perf_hooks";
import { startCpu, type CpuUsage } from "../cpu.ts";
import { FILES_PER_SOCKET, socketCapacity } from "../socket-capacity.ts";
import { Client, mapLimit } from "../load.ts";
import type { Figure, ScenarioContext } from "../model.ts";
import { notApplicable, runFigures } from "./websocket-figures.ts";
import { createStream, JSON_TYPE, PROJECT, streamPath } from "../protocol.ts";
import { LiveSocket, SeqTracker, wsUrl } from "../ws.ts";

/** Upgrades (and subscribes) in flight at once while setting up. */
const SETUP_CONCURRENCY = 32;
const OPEN_TIMEOUT_MS = 30_000;
/** Closing waits this long for each close handshake (locally it can take about 10 s: see docs/benchmarks.md). */
const CLOSE_TIMEOUT_MS = 15_000;
/** Each appended message is one JSON value of about 100 bytes: `{"seq": n, "pad": "xxx..."}`. */
const PAD = "x".repeat(80);

export interface WsDelivery {
  /** The append (source publish) itself: POST sent until its 2xx. */
  postMs: number;
  /** One stream: the append to an unwatched stream sent right after, in the same run (null: per-user). */
  unwatchedPostMs: number | null;
  /** POST sent until the first socket held the message. */
  firstMs: number;
  /** POST sent until every socket held it. */
  allMs: number;
}

export interface WsCheck {
  /** Sockets that saw every message once, in order. */
  exact: number;
  wrong: number;
  duplicates: number;
  missing: number;
  firstProblem: string | null;
}

export interface WsRun {
  kind: "stream" | "users";
  requested: number;
  /** Sockets open (and greeted) when the appends started. */
  opened: number;
  /** "one stream", or the source's fan-out mode for per-user channels (inline, queue). */
  mode: string;
  subscribeMs: number | null;
  openMs: number;
  appends: WsDelivery[];
  failures: string[];
  cpu: CpuUsage | null;
  check: WsCheck | null;
  /** Sockets the server (or the network) closed before the end. */
  closedEarly: number;
  /** Why fewer sockets were opened than requested, or null. */
  limitedBy: string | null;
  /** Closing every socket at the end: how long until the last close handshake completed (or timed out). */
  closeMs: number;
  /** Close handshakes not complete after CLOSE_TIMEOUT_MS (the client then drops the socket). */
  closeUnfinished: number;
}

export interface WsReport {
  figures: Figure[];
  /** A run that could not even be set up (stream, subscribes). */
  setupFailures: string[];
  runs: WsRun[];
}

function message(seq: number): string {
  return JSON.stringify([{ seq, pad: PAD }]);
}

/** Opens one live read per path at `offset=now`, SETUP_CONCURRENCY at a time; the ones that failed are counted. */
async function openAll(ctx: ScenarioContext, paths: readonly string[], failures: string[]): Promise<LiveSocket[]> {
  const sockets: LiveSocket[] = [];
  let failed = 0;
  await mapLimit(paths, SETUP_CONCURRENCY, async (path) => {
    try {
      const { socket } = await LiveSocket.open(wsUrl(ctx.target.baseUrl, path, "now"), OPEN_TIMEOUT_MS);
      sockets.push(socket);
      if (sockets.length % 500 === 0) ctx.log(`  ${sockets.length} of ${paths.length} sockets open`);
    } catch (error) {
      failed++;
      if (failed === 1) failures.push(`opening ${path}: ${String(error)}`);
    }
  });
  if (failed > 1) failures.push(`${failed} of ${paths.length} sockets failed to open`);
  return sockets;
}

/** Closes every socket (all at once) and says how long the handshakes took and how many did not complete. */
async function closeAll(sockets: readonly LiveSocket[]): Promise<{ ms: number; unfinished: number }> {
  const started = performance.now();
  const done = await Promise.all(sockets.map((socket) => socket.close(CLOSE_TIMEOUT_MS)));
  return { ms: performance.now() - started, unfinished: done.filter((closed) => !closed).length };
}

interface RunSpec {
  kind: WsRun["kind"];
  requested: number;
  /** The stream the appends go to (the source, for per-user channels). */
  publishTo: string;
  /** A stream no socket watches, appended to after each timed append (one stream runs only). */
  unwatched: string | null;
  limitedBy: string | null;
  /** One socket on each of these streams (the same stream N times, or N estuaries). */
  socketStreams: readonly string[];
  subscribeMs: number | null;
  mode: () => Promise<string>;
  timeoutMs: number;
}

/** Opens the sockets, sends one untimed and then the timed appends one at a time, checks every socket, closes them all. */
async function measure(ctx: ScenarioContext, client: Client, spec: RunSpec): Promise<WsRun> {
  const run: WsRun = {
    kind: spec.kind,
    requested: spec.requested,
    opened: 0,
    mode: "",
    subscribeMs: spec.subscribeMs,
    openMs: 0,
    appends: [],
    failures: [],
    cpu: null,
    check: null,
    closedEarly: 0,
    limitedBy: spec.limitedBy,
    closeMs: 0,
    closeUnfinished: 0,
  };
  const openStarted = performance.now();
  const sockets = await openAll(ctx, spec.socketStreams.map(streamPath), run.failures);
  run.openMs = performance.now() - openStarted;
  run.opened = sockets.length;
  try {
    if (sockets.length === 0) return run;
    const tracker = new SeqTracker(sockets.length);
    sockets.forEach((socket, index) => socket.listen((received) => tracker.record(index, received)));
    const path = streamPath(spec.publishTo);
    const send = async (seq: number): Promise<WsDelivery | null> => {
      const sent = performance.now();
      const reply = await client.expectOk({ method: "POST", path, headers: { "content-type": JSON_TYPE }, body: message(seq) });
      const arrival = await tracker.arrival(seq, spec.timeoutMs);
      if (!arrival) {
        run.failures.push(`message ${seq}: ${tracker.holding(seq)} of ${sockets.length} sockets held it after ${spec.timeoutMs} ms`);
        return null;
      }
      let unwatchedPostMs: number | null = null;
      if (spec.unwatched) {
        const baseline = await client.expectOk({ method: "POST", path: streamPath(spec.unwatched), headers: { "content-type": JSON_TYPE }, body: message(seq) });
        unwatchedPostMs = baseline.ms;
      }
      return { postMs: reply.ms, unwatchedPostMs, firstMs: arrival.firstAt - sent, allMs: arrival.allAt - sent };
    };
    // Untimed: the first append after the sockets opened (first deliveries, first frames rendered).
    let last = 0;
    if (await send(0)) {
      ctx.log(`${spec.kind}: ${sockets.length} sockets, ${ctx.profile.wsAppends} timed appends`);
      const stopCpu = startCpu(ctx.target.pids());
      for (let seq = 1; seq <= ctx.profile.wsAppends; seq++) {
        const delivery = await send(seq);
        last = seq;
        if (!delivery) break;
        run.appends.push(delivery);
      }
      run.cpu = stopCpu();
    }
    run.mode = await spec.mode();
    run.check = tracker.check(last);
    run.closedEarly = sockets.filter((socket) => socket.closedEarly).length;
    const closed = sockets.find((socket) => socket.closedEarly)?.closedEarly;
    if (closed) run.failures.push(`${run.closedEarly} sockets closed by the server or network (first: ${closed.code} ${closed.reason})`);
    const bad = sockets.find((socket) => socket.badFrame)?.badFrame;
    if (bad) run.failures.push(`unexpected frame: ${bad}`);
    if (run.check.wrong > 0) {
      run.failures.push(`${run.check.wrong} of ${sockets.length} sockets wrong (${run.check.duplicates} duplicated, ${run.check.missing} missing messages); ${run.check.firstProblem}`);
    }
    return run;
  } finally {
    const closed = await closeAll(sockets);
    run.closeMs = closed.ms;
    run.closeUnfinished = closed.unfinished;
    ctx.log(`${spec.kind}: closed ${sockets.length} sockets in ${(closed.ms / 1000).toFixed(1)} s, ${closed.unfinished} close handshakes unfinished`);
  }
}

async function oneStream(ctx: ScenarioContext, client: Client, requested: number): Promise<WsRun> {
  const stream = `ws-many-${requested}`;
  const capacity = socketCapacity();
  const opening = capacity && capacity.sockets < requested ? capacity.sockets : requested;
  const limitedBy =
    opening < requested && capacity
      ? `${opening} of ${requested} sockets opened: workerd under wrangler dev holds about ${FILES_PER_SOCKET} open files per client socket, ` +
        `and the open-file limit here is ${capacity.limit} (ulimit -n); raise it to measure more`
      : null;
  if (limitedBy) ctx.log(`WebSockets: ${limitedBy}`);
  const unwatched = `ws-unwatched-${requested}`;
  await createStream(client, stream, JSON_TYPE);
  await createStream(client, unwatched, JSON_TYPE);
  ctx.log(`WebSockets: opening ${opening} on one stream`);
  return measure(ctx, client, {
    kind: "stream",
    requested,
    publishTo: stream,
    unwatched,
    limitedBy,
    socketStreams: Array.from({ length: opening }, () => stream),
    subscribeMs: null,
    mode: async () => "one stream",
    timeoutMs: ctx.profile.deliveryTimeoutMs,
  });
}

async function perUser(ctx: ScenarioContext, client: Client): Promise<WsRun> {
  const source = "ws-users";
  await createStream(client, source, JSON_TYPE);
  const requested = ctx.profile.wsUsers;
  const users = Array.from({ length: requested }, (_, index) => `user-${index}`);
  ctx.log(`WebSockets: subscribing ${requested} per-user estuaries`);
  const subscribeStarted = performance.now();
  await mapLimit(users, SETUP_CONCURRENCY, (estuaryId) =>
    client.expectOk({ method: "POST", path: `/v1/estuary/subscribe/${PROJECT}/${source}`, headers: { "content-type": JSON_TYPE }, body: JSON.stringify({ estuaryId }) }),
  );
  const subscribeMs = performance.now() - subscribeStarted;
  ctx.log(`WebSockets: opening one socket on each of ${requested} estuaries`);
  return measure(ctx, client, {
    kind: "users",
    requested,
    publishTo: source,
    unwatched: null,
    limitedBy: null,
    socketStreams: users,
    subscribeMs,
    mode: async () => {
      const reply = await client.expectOk({ method: "GET", path: `/v1/estuary/subscribers/${PROJECT}/${source}` });
      return (JSON.parse(reply.body.toString("utf8")) as { mode: string }).mode;
    },
    timeoutMs: ctx.profile.deliveryTimeoutMs,
  });
}

export async function webSockets(ctx: ScenarioContext): Promise<WsReport> {
  if (ctx.target.key !== "ours") return { figures: notApplicable(ctx), setupFailures: [], runs: [] };
  const client = new Client(ctx.target.baseUrl, SETUP_CONCURRENCY);
  const report: WsReport = { figures: [], setupFailures: [], runs: [] };
  try {
    type Run = [string, (ctx: ScenarioContext, client: Client) => Promise<WsRun>];
    const [smallest, ...larger] = ctx.profile.wsSockets.map((n): Run => [`one stream, ${n} sockets`, (c, cl) => oneStream(c, cl, n)]);
    // Per-user channels before the larger one-stream runs: thousands of sockets still closing
    // (their close handshakes can take 15 s locally) slowed the per-user run about twofold.
    const runs: Run[] = [...(smallest ? [smallest] : []), ["per-user channels", perUser], ...larger];
    for (const [name, run] of runs) {
      try {
        const result = await run(ctx, client);
        report.runs.push(result);
        report.figures.push(...runFigures(ctx, result));
      } catch (error) {
        // One run that cannot be set up is reported; the other still runs.
        report.setupFailures.push(`${name}: ${String(error)}`);
        ctx.log(`WebSockets: ${name} FAILED: ${String(error)}`);
      }
    }
  } finally {
    await client.close();
  }
  return report;
}
