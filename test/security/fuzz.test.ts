// Property-based fuzzing of every route (WebSocket upgrades included), with auth off and on: no 5xx, every error in the error shape, guard streams unchanged.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type DevServer } from "../support/wrangler-dev";
import {
  describeGuard,
  FuzzClient,
  generalRequest,
  guardRequest,
  newStats,
  scratchType,
  snapshot,
  type FuzzRequest,
  type Guard,
  type GuardKind,
  type Snapshot,
  type Targets,
} from "./fuzz-support";

const PROJECT = "fz";
const GUARD_MARK = "guard";
const ADMIN_TOKEN = "fuzz-admin-token-0123456789";
const LONG_POLL = { LONG_POLL_TIMEOUT_MS: "300" };
const SCRATCH = ["s-text", "s-json", "s-bin", "s-text2", "s-json2"];

/**
 * Per configuration: fuzzed requests anywhere else, then malformed requests aimed at the guards.
 * The time limit ends a run early as a success, however few inputs fitted, so each property also
 * requires `minRuns` checked inputs. A 2-core machine running other work checked 2,600-3,000
 * general and 1,400-1,500 guarded inputs per configuration; a third of that leaves room for a
 * machine half as fast, while a server that stalls or slows every request fails.
 */
const GENERAL = { numRuns: 3_000, timeLimitMs: 40_000, minRuns: 1_000 };
const GUARDED = { numRuns: 1_500, timeLimitMs: 20_000, minRuns: 500 };

const stats = newStats();
const guardResults: boolean[] = [];

afterAll(() => {
  const guards = guardResults.length > 0 && guardResults.every(Boolean) ? "guard streams unchanged" : "guard streams CHANGED or not checked";
  const accepted = stats.guardAccepted > 0 ? `, ${stats.guardAccepted} malformed guard requests accepted` : "";
  console.log(`fuzz: ${stats.inputs} inputs tried (${stats.upgrades} WebSocket upgrades, ${stats.upgraded} answered 101), ${stats.serverErrors} server errors, ${stats.malformedErrors} malformed errors, ${guards}${accepted}`);
});

interface GuardSpec {
  kind: GuardKind;
  name: string;
  contentType: string;
}

const GUARDS: GuardSpec[] = [
  { kind: "text", name: "guard-text", contentType: "text/plain" },
  { kind: "json", name: "guard-json", contentType: "application/json" },
  { kind: "binary", name: "guard-binary", contentType: "application/octet-stream" },
  { kind: "closed", name: "guard-closed", contentType: "text/plain" },
  { kind: "source", name: "guard-source", contentType: "application/json" },
  { kind: "estuary", name: "guard-estuary", contentType: "application/json" },
];

const streamPath = (name: string) => `/v1/stream/${PROJECT}/${name}`;

/** One setup step that must succeed with the given status. */
async function must(
  baseUrl: string,
  auth: Record<string, string>,
  method: string,
  path: string,
  status: number,
  headers: Record<string, string> = {},
  body?: string | Uint8Array,
): Promise<Response> {
  const response = await fetch(`${baseUrl}${path}`, { method, headers: { ...auth, ...headers }, body });
  if (response.status !== status) {
    throw new Error(`setup ${method} ${path} answered ${response.status}, expected ${status}: ${await response.text()}`);
  }
  return response;
}

const json = { "Content-Type": "application/json" };
const text = { "Content-Type": "text/plain" };

/** Streams the fuzzer may change at will, plus two estuaries, so fuzzed requests also meet existing state. */
async function createScratch(baseUrl: string, auth: Record<string, string>): Promise<void> {
  for (const name of SCRATCH) {
    const type = scratchType(name);
    await must(baseUrl, auth, "PUT", streamPath(name), 201, { "Content-Type": type }, type === "application/json" ? "[1,2]" : "seed");
  }
  await must(baseUrl, auth, "POST", `/v1/estuary/subscribe/${PROJECT}/s-json`, 201, json, JSON.stringify({ estuaryId: "e-1", from: "-1" }));
  await must(baseUrl, auth, "POST", `/v1/estuary/subscribe/${PROJECT}/s-text2`, 201, json, JSON.stringify({ estuaryId: "e-2" }));
}

/** The guard streams, with known contents: text (written by a producer and with a Stream-Seq), JSON, binary, closed, and a source with its estuary. */
async function createGuards(baseUrl: string, auth: Record<string, string>): Promise<void> {
  const producer = (seq: number) => ({ "Producer-Id": "writer", "Producer-Epoch": "3", "Producer-Seq": String(seq) });
  await must(baseUrl, auth, "PUT", streamPath("guard-text"), 201, text, "alpha\n");
  await must(baseUrl, auth, "POST", streamPath("guard-text"), 200, { ...text, ...producer(0) }, "beta\n");
  await must(baseUrl, auth, "POST", streamPath("guard-text"), 200, { ...text, ...producer(1), "Stream-Seq": "m" }, "gamma\n");

  await must(baseUrl, auth, "PUT", streamPath("guard-json"), 201, json, '[{"a":1},"two",3]');
  await must(baseUrl, auth, "POST", streamPath("guard-json"), 204, json, '{"b":[true,null]}');

  const bytes = Uint8Array.from({ length: 512 }, (_, index) => (index * 37) % 256);
  await must(baseUrl, auth, "PUT", streamPath("guard-binary"), 201, { "Content-Type": "application/octet-stream" }, bytes);

  await must(baseUrl, auth, "PUT", streamPath("guard-closed"), 201, { ...text, "Stream-Closed": "true" }, "final words");

  await must(baseUrl, auth, "PUT", streamPath("guard-source"), 201, json, '[1,{"x":"y"}]');
  await must(baseUrl, auth, "POST", `/v1/estuary/subscribe/${PROJECT}/guard-source`, 201, json, JSON.stringify({ estuaryId: "guard-estuary", from: "-1" }));
  await must(baseUrl, auth, "POST", streamPath("guard-source"), 204, json, '"late"');
}

function messages(shot: Snapshot): unknown[] {
  return shot.bodies.flatMap((body) => JSON.parse(Buffer.from(body, "base64").toString("utf8")) as unknown[]);
}

/** Snapshots every guard, once the estuary has received all of its source's messages. */
async function snapshotGuards(baseUrl: string, auth: Record<string, string>): Promise<Map<string, Snapshot>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const source = await snapshot(baseUrl, streamPath("guard-source"), auth);
    const estuary = await snapshot(baseUrl, streamPath("guard-estuary"), auth);
    if (JSON.stringify(messages(estuary)) === JSON.stringify(messages(source))) break;
    if (Date.now() > deadline) throw new Error("guard-estuary never caught up with guard-source");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const shots = new Map<string, Snapshot>();
  for (const guard of GUARDS) shots.set(guard.name, await snapshot(baseUrl, streamPath(guard.name), auth));
  return shots;
}

interface Fixture {
  server: DevServer;
  client: FuzzClient;
  targets: Targets;
  guards: Guard[];
  before: Map<string, Snapshot>;
  auth: Record<string, string>;
}

async function prepare(server: DevServer, auth: Record<string, string>, credentials: { token: string | null; others: string[] }): Promise<Fixture> {
  await createScratch(server.baseUrl, auth);
  await createGuards(server.baseUrl, auth);
  const before = await snapshotGuards(server.baseUrl, auth);
  const guards = GUARDS.map((spec) => {
    const shot = before.get(spec.name);
    if (!shot) throw new Error(`no snapshot of ${spec.name}`);
    return describeGuard(spec.kind, spec.name, spec.contentType, shot);
  });
  const targets: Targets = {
    project: PROJECT,
    scratch: SCRATCH,
    guardPaths: GUARDS.map((guard) => streamPath(guard.name)),
    token: credentials.token,
    otherCredentials: credentials.others,
  };
  return { server, client: new FuzzClient(server.baseUrl, stats), targets, guards, before, auth };
}

async function fuzz(
  client: FuzzClient,
  requests: fc.Arbitrary<FuzzRequest>,
  mustReject: boolean,
  budget: { numRuns: number; timeLimitMs: number; minRuns: number },
): Promise<void> {
  let checked = 0;
  try {
    await fc.assert(
      fc.asyncProperty(requests, async (request) => {
        await client.probe(request, mustReject);
        checked++;
      }),
      { numRuns: budget.numRuns, plugins: [fc.interruptAfterTimeLimit(budget.timeLimitMs)] },
    );
  } finally {
    await client.idle();
  }
  console.log(`fuzz: ${checked} of ${budget.numRuns} inputs checked within ${budget.timeLimitMs} ms`);
  expect(checked, `inputs checked before the ${budget.timeLimitMs} ms limit`).toBeGreaterThanOrEqual(budget.minRuns);
}

function guardedRequests(fixture: Fixture): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(
    ...fixture.guards.map((guard) =>
      guardRequest(
        guard,
        fixture.targets,
        fixture.targets.guardPaths.filter((path) => path !== streamPath(guard.name)),
      ),
    ),
  );
}

/** The three fuzzing tests, shared by both configurations. */
function fuzzSuite(fixture: () => Fixture): void {
  it("answers fuzzed requests to every route below 500, with every error in the error shape", async () => {
    const { client, targets } = fixture();
    await fuzz(client, generalRequest(targets, GUARD_MARK), false, GENERAL);
  }, GENERAL.timeLimitMs + 60_000);

  it("refuses with a 4xx every malformed request aimed at a guard stream or a path close to one", async () => {
    const current = fixture();
    await fuzz(current.client, guardedRequests(current), true, GUARDED);
  }, GUARDED.timeLimitMs + 60_000);

  it("leaves every guard stream with exactly the contents and metadata it had before fuzzing", async () => {
    const { server, auth, before } = fixture();
    const after = await snapshotGuards(server.baseUrl, auth);
    const unchanged = GUARDS.every((guard) => JSON.stringify(after.get(guard.name)) === JSON.stringify(before.get(guard.name)));
    guardResults.push(unchanged);
    for (const guard of GUARDS) expect(after.get(guard.name), guard.name).toEqual(before.get(guard.name));
  }, 60_000);
}

describe("fuzzing the local configuration (auth off)", () => {
  let current: Fixture | undefined;
  const fixture = () => {
    if (!current) throw new Error("fixture not ready");
    return current;
  };

  beforeAll(async () => {
    const server = await startWranglerDev({ vars: LONG_POLL });
    current = await prepare(server, {}, { token: null, others: [] });
  }, 120_000);

  afterAll(async () => {
    await current?.server.stop();
  });

  fuzzSuite(fixture);

  it("creates a stream whose Stream-Expires-At lies at or before 1970 without a server error, already expired", async () => {
    const { baseUrl } = fixture().server;
    const cases = { "r-epoch": "1970-01-01T00:00:00Z", "r-1969": "1969-12-31T23:59:59Z", "r-year-0": "0000-01-01T00:00:00Z" };
    for (const [name, expiresAt] of Object.entries(cases)) {
      const created = await fetch(`${baseUrl}${streamPath(name)}`, { method: "PUT", headers: { "Stream-Expires-At": expiresAt } });
      expect(created.status, expiresAt).toBe(201);
      const head = await fetch(`${baseUrl}${streamPath(name)}`, { method: "HEAD" });
      expect(head.status, expiresAt).toBe(404);
    }
  });
});

describe("fuzzing the production configuration (auth on)", () => {
  let current: Fixture | undefined;
  const fixture = () => {
    if (!current) throw new Error("fixture not ready");
    return current;
  };

  beforeAll(async () => {
    const server = await startWranglerDev({
      env: "production",
      vars: { ADMIN_TOKEN, AUTH_CACHE_MS: "0", ...LONG_POLL },
    });
    const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    const mint = async (project: string, scope: string[]): Promise<string> => {
      const response = await must(server.baseUrl, admin, "POST", `/v1/admin/projects/${project}/tokens`, 201, json, JSON.stringify({ scope }));
      return ((await response.json()) as { token: string }).token;
    };
    await must(server.baseUrl, admin, "POST", "/v1/admin/projects", 201, json, JSON.stringify({ project: PROJECT }));
    await must(server.baseUrl, admin, "POST", "/v1/admin/projects", 201, json, JSON.stringify({ project: "fz-other" }));
    const manage = `Bearer ${await mint(PROJECT, ["manage"])}`;
    const readOnly = `Bearer ${await mint(PROJECT, ["read"])}`;
    const otherProject = `Bearer ${await mint("fz-other", ["manage"])}`;
    // The manage token is drawn most often, so most fuzzed requests get past the auth layer.
    current = await prepare(server, { Authorization: manage }, { token: manage, others: [readOnly, otherProject, `Bearer ${ADMIN_TOKEN}`] });
  }, 120_000);

  afterAll(async () => {
    await current?.server.stop();
  });

  fuzzSuite(fixture);
});
