// Crash recovery: wrangler dev is SIGKILLed amid appends with fan-out behind, or while the calls a
// deletion needs are still in an outbox, and restarted on the same state; estuaries converge.
/// <reference types="node" />
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, test } from "vitest";
import type { DevServer } from "../support/wrangler-dev";
import { Api, deliveredOffset, mapLimit, pollUntil, startServer, unique, waitForEstuaries, waitForFannedOut } from "./harness";

const JSON_TYPE = "application/json";
const project = "crash";
// Below FANOUT_QUEUE_THRESHOLD: local queue contents do not survive a kill, durable alarms do.
const SUBSCRIBERS = 60;
/** Appends offered; the kill cuts them off after KILL_AFTER are acknowledged. */
const MESSAGES = 400;
const KILL_AFTER = 120;
const PUBLISH_CONCURRENCY = 8;
const CONVERGE_MS = 60_000;
/** Within the inline threshold; enough that detaching them all outlasts the moment of the kill. */
const OUTBOX_SUBSCRIBERS = 150;

let server: DevServer | undefined;
let persistDir: string | undefined;

afterAll(async () => {
  await server?.stop();
  if (persistDir) await rm(persistDir, { recursive: true, force: true });
});

interface StateAtKill {
  /** How far each estuary held the source, from its own rows. */
  held: number[];
  cohort: number | null;
  target: number | null;
  /** Messages fan-out had pushed by its last saved round. */
  messagesDelivered: number | null;
}

/**
 * Reads, read-only, the Durable Object SQLite files the killed server left in its persist dir:
 * how far fan-out and each estuary had got when the process died.
 */
async function stateAtKill(dir: string, source: string, estuaries: readonly string[]): Promise<StateAtKill> {
  const state: StateAtKill = { held: [], cohort: null, target: null, messagesDelivered: null };
  const wanted = new Set(estuaries.map((estuary) => `${project}/${estuary}`));
  const sourceName = `${project}/${source}`;
  await forEachObject(dir, "StreamDO", (name, db) => {
    if (!wanted.has(name)) return;
    // The checkpoint, brought up to date by the chunks written since (as the object does on load).
    const checkpoint = db.prepare("SELECT applied_pos AS pos FROM estuary_sources WHERE source = ?").get(sourceName) as { pos: number } | undefined;
    const written = db.prepare("SELECT MAX(source_to) AS pos FROM chunks WHERE source = ?").get(sourceName) as { pos: number | null };
    state.held.push(Math.max(checkpoint?.pos ?? 0, written.pos ?? 0));
  });
  await forEachObject(dir, "StreamSubscribersDO", (name, db) => {
    if (name !== sourceName) return;
    const row = db.prepare("SELECT cohort_pos, target_pos, cost FROM fanout").get() as { cohort_pos: number; target_pos: number; cost: string } | undefined;
    state.cohort = row?.cohort_pos ?? null;
    state.target = row?.target_pos ?? null;
    state.messagesDelivered = row ? ((JSON.parse(row.cost) as { messagesDelivered?: number }).messagesDelivered ?? 0) : null;
  });
  return state;
}

async function forEachObject(dir: string, className: string, visit: (name: string, db: DatabaseSync) => void): Promise<void> {
  const folder = join(dir, "v3", "do", `durable-estuary-${className}`);
  for (const file of await readdir(folder)) {
    if (!file.endsWith(".sqlite") || file === "metadata.sqlite") continue;
    const db = new DatabaseSync(join(folder, file), { readOnly: true });
    try {
      const named = db.prepare("SELECT name FROM __miniflare_do_name").get() as { name: string } | undefined;
      if (named) visit(named.name, db);
    } finally {
      db.close();
    }
  }
}

async function isServing(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/`, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

describe("a crash during fan-out", () => {
  test("after a SIGKILL amid appends, with fan-out behind, every estuary converges to exactly the source's messages", async () => {
    persistDir = await mkdtemp(join(tmpdir(), "estuary-crash-"));
    server = await startServer({ persistDir });
    const killed = server;
    let api = new Api(server.baseUrl);
    const source = unique("burst");
    await api.create(project, source, JSON_TYPE);
    const estuaries = Array.from({ length: SUBSCRIBERS }, (_, index) => `${source}-e${index}`);
    await mapLimit(estuaries, 20, (estuary) => api.subscribeNew(project, source, estuary));
    expect((await api.status(project, source)).mode).toBe("inline");

    // The process dies right after the KILL_AFTER-th acknowledgement, with other appends in flight
    // and fan-out still carrying the last ones to 60 estuaries.
    let inFlight = 0;
    let inFlightAtKill = 0;
    const acknowledged: number[] = [];
    await mapLimit(Array.from({ length: MESSAGES }, (_, seq) => seq), PUBLISH_CONCURRENCY, async (seq) => {
      if (acknowledged.length >= KILL_AFTER) return;
      inFlight++;
      try {
        await api.appendJson(project, source, { source, seq });
        acknowledged.push(seq);
      } catch {
        return; // Cut off by the kill.
      } finally {
        inFlight--;
      }
      if (acknowledged.length === KILL_AFTER) {
        killed.kill();
        inFlightAtKill = inFlight;
      }
    });
    const killedAt = Date.now();
    await pollUntil("the killed server to stop answering", () => isServing(killed.baseUrl), (serving) => !serving, 10_000);
    const atKill = await stateAtKill(persistDir, source, estuaries);

    server = await startServer({ persistDir });
    api = new Api(server.baseUrl);
    const restartedAt = Date.now();

    // Every acknowledged append survived. The source may also hold appends whose answer the kill
    // cut off; concurrent POSTs fix their own order, so the source's read is the sequence every
    // estuary must hold. Nothing was appended since the kill: its tail is the tail at the kill.
    const tailOffset = await api.tail(project, source);
    const sourceTail = Number(tailOffset.split("_")[1]);
    const expected = await api.readJson(project, source);
    const stored = new Set(expected.map((message) => JSON.stringify(message)));
    const lost = acknowledged.filter((seq) => !stored.has(JSON.stringify({ source, seq })));
    expect(lost, "acknowledged appends missing from the source").toEqual([]);
    expect(expected.length).toBeGreaterThanOrEqual(KILL_AFTER);

    process.stdout.write(
      `crash: ${acknowledged.length} appends acknowledged, ${inFlightAtKill} in flight at the kill, ${expected.length} in the source; ` +
        `at the kill fan-out cohort=${atKill.cohort} target=${atKill.target} source tail=${sourceTail}, ` +
        `${atKill.held.filter((held) => held < sourceTail).length}/${estuaries.length} estuaries behind\n`,
    );
    // Otherwise the run proved nothing about recovery: the kill must land amid appends, with fan-out
    // (and so estuaries) short of the source's tail.
    expect(inFlightAtKill, "appends unanswered at the kill").toBeGreaterThan(0);
    expect(atKill.cohort, "fan-out position at the kill").not.toBeNull();
    expect(atKill.cohort as number, "fan-out position at the kill").toBeLessThan(sourceTail);
    expect(atKill.held).toHaveLength(estuaries.length);
    expect(atKill.held.filter((held) => held < sourceTail).length, "estuaries behind the source at the kill").toBeGreaterThan(0);

    // The restarted objects push the rest on their own. Checked before any estuary is read, since a
    // read pulls what it lacks: fan-out reaches the tail, each estuary's described position is the
    // tail, fan-out pushed more than it had saved by the kill, and nothing was pulled. (Counters
    // live in the fan-out row: a round cut short by the kill delivered without saving them, and its
    // replay writes nothing new, so the total is not compared with estuaries x messages.)
    const fannedOut = await waitForFannedOut(api, project, source, tailOffset, CONVERGE_MS);
    const positions = await mapLimit(estuaries, 20, (estuary) => deliveredOffset(api, project, estuary, source));
    expect(positions.filter((position) => position !== tailOffset), "estuaries not pushed up to the tail").toEqual([]);
    expect(fannedOut.cost.messagesDelivered).toBeGreaterThan(atKill.messagesDelivered ?? 0);
    expect((await api.status(project, source)).cost.messagesPulled).toBe(0);

    // Every estuary holds exactly the source's messages, acknowledged ones included, once and in order.
    const tally = await waitForEstuaries(api, project, estuaries, expected, CONVERGE_MS);
    process.stdout.write(`crash: restart=${restartedAt - killedAt}ms converged ${Date.now() - restartedAt}ms after restart; ${JSON.stringify(tally)}\n`);
    expect(tally).toEqual({ exact: estuaries.length, duplicates: 0, missing: 0, unexpected: 0 });
  }, 180_000);

  test("after a SIGKILL with a deletion's calls unfinished, the restarted objects make them: no estuary stays subscribed", async () => {
    await server?.stop();
    const dir = await mkdtemp(join(tmpdir(), "estuary-crash-outbox-"));
    server = await startServer({ persistDir: dir });
    let api = new Api(server.baseUrl);
    const source = unique("doomed");
    await api.create(project, source, JSON_TYPE);
    // Many estuaries, so detaching them all (outbox calls made by the subscribers object's alarm,
    // after the source's own outbox call) is still under way when the process dies.
    const estuaries = Array.from({ length: OUTBOX_SUBSCRIBERS }, (_, index) => `${source}-e${index}`);
    await mapLimit(estuaries, 20, (estuary) => api.subscribeNew(project, source, estuary));
    const deleted = await fetch(api.streamUrl(project, source), { method: "DELETE" });
    expect(deleted.status).toBe(204);
    server.kill();
    const killedUrl = server.baseUrl;
    await pollUntil("the killed server to stop answering", () => isServing(killedUrl), (serving) => !serving, 10_000);
    const stillSubscribed = await estuariesListing(dir, `${project}/${source}`);
    const pending = await pendingOutboxCalls(dir);

    server = await startServer({ persistDir: dir });
    api = new Api(server.baseUrl);
    const sourcesOf = async (estuary: string) => {
      const response = await api.estuary(project, estuary);
      const body = (await response.json()) as { subscriptions: unknown[] };
      return body.subscriptions.length;
    };
    const counts = await pollUntil(
      "every estuary to leave the deleted source",
      () => mapLimit(estuaries, 20, sourcesOf),
      (values) => values.every((count) => count === 0),
      CONVERGE_MS,
    );
    process.stdout.write(`crash/outbox: at the kill ${stillSubscribed}/${estuaries.length} estuaries still listed the source, ${pending} outbox calls pending\n`);
    expect(counts.every((count) => count === 0)).toBe(true);
    // A source re-created under the name starts clean: no subscribers carried over.
    await api.create(project, source, JSON_TYPE);
    expect((await api.status(project, source)).subscribers).toBe(0);
    // Otherwise the run proved nothing about recovery: the calls must have been unfinished at the kill.
    expect(stillSubscribed, "estuaries still listing the deleted source at the kill").toBeGreaterThan(0);
    await server.stop();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  }, 180_000);
});

/** Estuaries whose stored subscriptions (the estuary_sources table) still name `source`. */
async function estuariesListing(dir: string, source: string): Promise<number> {
  let count = 0;
  await forEachObject(dir, "StreamDO", (_name, db) => {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'estuary_sources'").get();
    if (table && db.prepare("SELECT 1 FROM estuary_sources WHERE source = ?").get(source)) count++;
  });
  return count;
}

/** Calls waiting in the outboxes of every object of both classes. */
async function pendingOutboxCalls(dir: string): Promise<number> {
  let count = 0;
  for (const className of ["StreamDO", "StreamSubscribersDO"]) {
    await forEachObject(dir, className, (_name, db) => {
      if (!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").get()) return;
      count += (db.prepare("SELECT COUNT(*) AS n FROM outbox").get() as { n: number }).n;
    });
  }
  return count;
}
