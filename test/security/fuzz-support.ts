// Fuzzing support: fast-check arbitraries for requests (WebSocket upgrades among them), a bounded HTTP client, the response contract and guard snapshots.
/// <reference types="node" />
import fc from "fast-check";
import { upgrade } from "./ws-support";

// --- the contract -------------------------------------------------------------------------------

/** The error vocabulary and its statuses (src/errors.ts), restated as the contract under test. */
const ERROR_STATUS: Readonly<Record<string, number>> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  too_large: 413,
  headers_too_large: 431,
  rate_limited: 429,
  too_many_sockets: 429,
  upgrade_required: 426,
  internal: 500,
  // The reserved subscription APIs (/v1/stream/__ds/...) speak the protocol's codes (src/subscriptions/errors.ts).
  INVALID_REQUEST: 400,
  WEBHOOK_URL_REJECTED: 400,
  UNAUTHORIZED: 401,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  SUBSCRIPTION_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  SUBSCRIPTION_ALREADY_EXISTS: 409,
  FENCED: 409,
  ALREADY_CLAIMED: 409,
  NO_PENDING_WORK: 409,
  INVALID_OFFSET: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
};

/** Fields an error object carries besides {code, message}, by code. */
const ERROR_EXTRAS: Readonly<Record<string, string[]>> = { ALREADY_CLAIMED: ["current_holder", "generation"] };

/** A piece of a request body; repeats keep huge bodies small in counterexample reports. */
export type BodyPiece = string | Uint8Array | { repeat: string; times: number };

export interface FuzzRequest {
  /** What the generator meant to send, shown in failure reports. */
  kind: string;
  method: string;
  /** Starts with "/"; may carry odd encodings, dot segments and extra slashes. */
  path: string;
  /** "" or "?...". */
  query: string;
  headers: Record<string, string>;
  body: BodyPiece[];
  /** Sent as a WebSocket upgrade (GET with a valid handshake plus `headers`; no body). */
  upgrade?: boolean;
}

export interface Observed {
  status: number;
  headers: Headers;
  /** The body (for an event stream: only its first chunk; for a 101: the first message, if any within 1 s). */
  text: string;
}

export interface FuzzStats {
  inputs: number;
  /** Inputs sent as WebSocket upgrades, and how many of those were answered 101. */
  upgrades: number;
  upgraded: number;
  serverErrors: number;
  malformedErrors: number;
  /** Guard-targeted requests that were not rejected with a 4xx. */
  guardAccepted: number;
}

export function newStats(): FuzzStats {
  return { inputs: 0, upgrades: 0, upgraded: 0, serverErrors: 0, malformedErrors: 0, guardAccepted: 0 };
}

const encoder = new TextEncoder();

export function materialize(body: readonly BodyPiece[]): Uint8Array | undefined {
  if (body.length === 0) return undefined;
  const parts = body.map((piece) => {
    if (typeof piece === "string") return encoder.encode(piece);
    if (piece instanceof Uint8Array) return piece;
    return encoder.encode(piece.repeat.repeat(piece.times));
  });
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const REQUEST_TIMEOUT_MS = 10_000;
const SSE_FIRST_CHUNK_MS = 500;
const SOCKET_FIRST_MESSAGE_MS = 1_000;

/** Sends fuzzed requests one at a time, counts them, and checks each answer against the contract. */
export class FuzzClient {
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    readonly baseUrl: string,
    readonly stats: FuzzStats,
  ) {}

  async send(request: FuzzRequest): Promise<Observed> {
    const pending = this.exchange(request);
    this.inflight.add(pending);
    try {
      return await pending;
    } finally {
      this.inflight.delete(pending);
    }
  }

  /** Waits for requests a time-limited fast-check run left behind. */
  async idle(): Promise<void> {
    await Promise.allSettled(this.inflight);
  }

  /** Sends, checks and counts; throws with every contract problem found. */
  async probe(request: FuzzRequest, mustReject: boolean): Promise<Observed> {
    const observed = await this.send(request);
    const problems = contractProblems(request, observed);
    if (observed.status >= 500) this.stats.serverErrors++;
    else if (problems.length > 0) this.stats.malformedErrors++;
    if (mustReject && (observed.status < 400 || observed.status >= 500)) {
      this.stats.guardAccepted++;
      problems.push(`a malformed request aimed at a guard stream was answered ${observed.status}, not 4xx`);
    }
    if (problems.length > 0) {
      throw new Error(`${problems.join("; ")}\n  status ${observed.status}, body ${JSON.stringify(observed.text.slice(0, 300))}`);
    }
    return observed;
  }

  private async exchange(request: FuzzRequest): Promise<Observed> {
    this.stats.inputs++;
    if (request.upgrade) return this.exchangeUpgrade(request);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const bodyless = request.method === "GET" || request.method === "HEAD";
      // A fragment in the path stays last, after the query, as it would in a real URL.
      const hash = request.path.indexOf("#");
      const target = hash < 0 ? `${request.path}${request.query}` : `${request.path.slice(0, hash)}${request.query}${request.path.slice(hash)}`;
      const response = await fetch(`${this.baseUrl}${target}`, {
        method: request.method,
        headers: request.headers,
        body: bodyless ? undefined : materialize(request.body),
        redirect: "manual",
        signal: controller.signal,
      });
      const sse = (response.headers.get("Content-Type") ?? "").startsWith("text/event-stream");
      const text = sse ? await firstChunk(response, controller) : await response.text();
      return { status: response.status, headers: response.headers, text };
    } catch (error) {
      if (controller.signal.aborted) throw new Error(`no complete answer within ${REQUEST_TIMEOUT_MS} ms`);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A WebSocket upgrade: a refusal read to its end, or a 101 whose first message is read before hanging up. */
  private async exchangeUpgrade(request: FuzzRequest): Promise<Observed> {
    // A fragment is never sent (fetch drops it too; the ws client refuses a URL with one).
    const hash = request.path.indexOf("#");
    const path = hash < 0 ? request.path : request.path.slice(0, hash);
    this.stats.upgrades++;
    const outcome = await upgrade(`${this.baseUrl}${path}${request.query}`, request.headers, REQUEST_TIMEOUT_MS);
    if (outcome.socket) this.stats.upgraded++;
    if (!outcome.socket) return { status: outcome.status, headers: outcome.headers, text: outcome.body };
    const socket = outcome.socket;
    try {
      await socket.until("the first message", () => socket.received.length > 0, SOCKET_FIRST_MESSAGE_MS).catch(() => undefined);
      return { status: 101, headers: outcome.headers, text: socket.received[0] ?? "" };
    } finally {
      socket.ws.terminate();
    }
  }
}

/** Reads the first chunk of an event stream (or waits at most 500 ms for it), then hangs up. */
async function firstChunk(response: Response, controller: AbortController): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), SSE_FIRST_CHUNK_MS);
  });
  try {
    const chunk = await Promise.race([reader.read(), timeout]);
    return chunk && chunk.value ? new TextDecoder().decode(chunk.value) : "";
  } finally {
    clearTimeout(timer);
    controller.abort();
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * Every answer: below 500, nosniff, no body where none is allowed (HEAD, 204, 304). Every error:
 * Content-Type application/json and, except for HEAD, exactly {"error":{"code","message"}} with the
 * code's own status.
 */
export function contractProblems(request: FuzzRequest, observed: Observed): string[] {
  const problems: string[] = [];
  const { status, headers, text } = observed;
  if (status >= 500) problems.push(`server error ${status}`);
  if (headers.get("X-Content-Type-Options") !== "nosniff") problems.push("X-Content-Type-Options is not nosniff");
  const bodiless = request.method === "HEAD" || status === 204 || status === 304;
  if (bodiless && text.length > 0) problems.push(`a ${request.method} ${status} answer carries a body`);
  if (status >= 400) {
    if (headers.get("Content-Type") !== "application/json") {
      problems.push(`error Content-Type is ${headers.get("Content-Type")}, not application/json`);
    }
    if (request.method !== "HEAD") problems.push(...errorShapeProblems(text, status));
  }
  return problems;
}

function errorShapeProblems(text: string, status: number): string[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return ["error body is not JSON"];
  }
  if (!isPlainObject(body) || !sameKeys(body, ["error"])) return ["error body is not exactly {error}"];
  const error = body.error;
  const extras = isPlainObject(error) && typeof error.code === "string" ? (ERROR_EXTRAS[error.code] ?? []) : [];
  if (!isPlainObject(error) || !sameKeys(error, ["code", "message", ...extras])) return ["error is not exactly {code, message}"];
  if (typeof error.code !== "string" || typeof error.message !== "string") return ["code and message must be strings"];
  if (!Object.hasOwn(ERROR_STATUS, error.code)) return [`unknown error code ${error.code}`];
  if (ERROR_STATUS[error.code] !== status) return [`error code ${error.code} answered with status ${status}`];
  return [];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sameKeys(value: Record<string, unknown>, keys: string[]): boolean {
  const own = Object.keys(value).sort();
  return own.length === keys.length && own.every((key, index) => key === [...keys].sort()[index]);
}

// --- guard streams ------------------------------------------------------------------------------

export interface Snapshot {
  contentType: string | null;
  nextOffset: string | null;
  closed: string | null;
  etag: string | null;
  ttl: string | null;
  expiresAt: string | null;
  /** Base64 of each catch-up response body, following Stream-Next-Offset to the tail. */
  bodies: string[];
}

/** A full catch-up read plus the stream's metadata: two equal snapshots mean equal contents. */
export async function snapshot(baseUrl: string, path: string, headers: Record<string, string>): Promise<Snapshot> {
  const bodies: string[] = [];
  let offset = "-1";
  let last: Response | undefined;
  for (let page = 0; page < 100; page++) {
    const response = await fetch(`${baseUrl}${path}?offset=${offset}`, { headers });
    if (response.status !== 200) throw new Error(`snapshot read of ${path} answered ${response.status}`);
    bodies.push(Buffer.from(await response.arrayBuffer()).toString("base64"));
    last = response;
    const next = response.headers.get("Stream-Next-Offset");
    if (response.headers.get("Stream-Up-To-Date") === "true" || next === null || next === offset) break;
    offset = next;
  }
  const head = await fetch(`${baseUrl}${path}`, { method: "HEAD", headers });
  if (head.status !== 200) throw new Error(`snapshot HEAD of ${path} answered ${head.status}`);
  return {
    contentType: head.headers.get("Content-Type"),
    nextOffset: head.headers.get("Stream-Next-Offset"),
    closed: head.headers.get("Stream-Closed"),
    etag: last?.headers.get("ETag") ?? null,
    ttl: head.headers.get("Stream-TTL"),
    expiresAt: head.headers.get("Stream-Expires-At"),
    bodies,
  };
}

export type GuardKind = "text" | "json" | "binary" | "closed" | "source" | "estuary";

export interface Guard {
  kind: GuardKind;
  name: string;
  contentType: string;
  json: boolean;
  closed: boolean;
  /** Stream position after the last byte. */
  tail: number;
  /** Positions strictly inside a JSON message: reading from them is refused. */
  interior: number[];
}

/** The guard's tail and, for JSON streams, the positions that are not message boundaries. */
export function describeGuard(kind: GuardKind, name: string, contentType: string, shot: Snapshot): Guard {
  const json = contentType === "application/json";
  const tail = Number((shot.nextOffset ?? "").split("_")[1] ?? "0");
  const boundaries = new Set<number>([0, tail]);
  if (json) {
    let position = 0;
    for (const body of shot.bodies) {
      const messages = JSON.parse(Buffer.from(body, "base64").toString("utf8")) as unknown[];
      for (const message of messages) {
        position += encoder.encode(JSON.stringify(message)).length;
        boundaries.add(position);
      }
    }
  }
  const interior: number[] = [];
  if (json) for (let position = 1; position < tail; position++) if (!boundaries.has(position)) interior.push(position);
  return { kind, name, contentType, json, closed: kind === "closed", tail, interior };
}

// --- building blocks ----------------------------------------------------------------------------

const NAME = /^[A-Za-z0-9._~-]{1,128}$/;
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*(;.*)?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function isValidName(name: string): boolean {
  return NAME.test(name) && name !== "." && name !== "..";
}

export function formatOffset(position: number | bigint): string {
  return `${"0".repeat(16)}_${String(position).padStart(16, "0")}`;
}

function isParsableOffset(raw: string): boolean {
  if (raw === "-1" || raw === "now") return true;
  const match = /^(\d{16})_(\d{16})$/.exec(raw);
  return match !== null && match[1] === "0".repeat(16) && Number.isSafeInteger(Number(match[2]));
}

/** What fetch and the HTTP layer make of a header value: surrounding blanks are dropped. */
const wire = (value: string) => value.replace(/^[\t ]+|[\t ]+$/g, "");

const printable = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
const latin1 = fc.integer({ min: 0xa0, max: 0xff }).map((code) => String.fromCharCode(code));
const headerChar = fc.oneof({ weight: 12, arbitrary: printable }, { weight: 1, arbitrary: latin1 }, { weight: 1, arbitrary: fc.constant("\t") });

/** Any value fetch will send (no CR, LF or NUL; nothing above U+00FF). */
export const headerValue = (maxLength = 40) => fc.string({ unit: headerChar, maxLength });

const digits = (maxLength: number) => fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 1, maxLength });
const fresh = (prefix: string) => fc.stringMatching(/^[a-z0-9]{4,10}$/).map((suffix) => `${prefix}${suffix}`);

export const validName = fc.stringMatching(/^[A-Za-z0-9._~-]{1,24}$/).filter(isValidName);

const offsetValue = fc.oneof(
  fc.constantFrom("-1", "now", "", "0", "-2", "now ", "NOW", "0_0", `${"0".repeat(16)}_`, `1${"0".repeat(15)}_${"0".repeat(16)}`),
  fc.nat({ max: 4096 }).map(formatOffset),
  fc.bigInt({ min: 0n, max: 10n ** 16n - 1n }).map(formatOffset),
  fc.tuple(digits(18), digits(18)).map(([a, b]) => `${a}_${b}`),
  headerValue(40),
);

const liveValue = fc.oneof(fc.constantFrom("long-poll", "sse", "ws", "", "LONG-POLL", "WS", "websocket", "poll", "true"), headerValue(12));

const queryParam = fc.oneof(
  { weight: 5, arbitrary: offsetValue.map((value) => ["offset", value] as const) },
  { weight: 3, arbitrary: liveValue.map((value) => ["live", value] as const) },
  { weight: 2, arbitrary: fc.oneof(digits(20), headerValue(30)).map((value) => ["cursor", value] as const) },
  { weight: 1, arbitrary: fc.tuple(headerValue(10), headerValue(20)) },
);

export const queryString = fc.oneof(
  { weight: 10, arbitrary: fc.array(queryParam, { maxLength: 4 }).map((params) =>
    params.length === 0 ? "" : `?${params.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join("&")}`) },
  { weight: 1, arbitrary: fc.constantFrom("?", "?&", "?offset", "?offset=", "?=x", "?offset=%zz", "?offset=-1&offset=-1", "?live=sse&live=sse&offset=-1", "?offset=+1", "?%00=%00") },
);

/** The listings' page query (?limit=, ?after=): valid and malformed values, unknown and repeated keys. */
const limitValue = fc.oneof(fc.constantFrom("1", "100", "1000", "0", "1001", "-1", "1.5", "1e3", "", " 1", "01", "abc", "Infinity"), digits(8), headerValue(12));
const afterValue = fc.oneof(fc.constantFrom("a", "z", "..", ".", "a/b", "", "__ds", "%", "x".repeat(129)), headerValue(30));

export const pageQueryString = fc
  .array(fc.oneof(limitValue.map((v) => ["limit", v] as const), afterValue.map((v) => ["after", v] as const), fc.tuple(headerValue(10), headerValue(10))), { maxLength: 3 })
  .map((params) => (params.length === 0 ? "" : `?${params.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join("&")}`));

/** Page queries the listings must refuse with 400 (or 401/404 without the admin token). */
const junkPageQuery = fc.oneof(
  limitValue.filter((v) => !/^[1-9][0-9]{0,3}$/.test(v) || Number(v) > 1000).map((v) => `?limit=${encodeURIComponent(v)}`),
  afterValue.filter((v) => !/^[A-Za-z0-9._~-]{1,128}$/.test(v) || v === "." || v === "..").map((v) => `?after=${encodeURIComponent(v)}`),
  fc.constantFrom("?limit=1&limit=2", "?after=a&after=b", "?colour=red", "?limit=10&x=", "?LIMIT=10"),
);

// --- header values ------------------------------------------------------------------------------

const mediaType = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("text/plain", "application/json", "application/octet-stream", "text/plain; charset=utf-8", "APPLICATION/JSON", "application/json;charset=UTF-8", "text/html", "image/png", "application/x-ndjson") },
  { weight: 2, arbitrary: fc.tuple(fc.stringMatching(/^[a-z+.-]{1,12}$/), fc.stringMatching(/^[a-z0-9+.-]{1,12}$/)).map(([a, b]) => `${a}/${b}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("text/plain", "application/json"), headerValue(30)).map(([type, params]) => `${type};${params}`) },
);

const malformedMediaType = fc.oneof(
  fc.constantFrom("text", "text/", "/plain", "text /plain", "text/pl ain", "text/plain/x", "a\u00e9/b", "(json)", "application/json,", `text/${"a".repeat(300)}`),
  headerValue(40).filter((value) => wire(value) !== "" && !MEDIA_TYPE.test(wire(value))),
  fc.integer({ min: 257, max: 2000 }).map((length) => `text/${"x".repeat(length)}`),
);

const contentType = fc.oneof({ weight: 4, arbitrary: mediaType }, { weight: 1, arbitrary: malformedMediaType }, { weight: 1, arbitrary: fc.constant("") });

/** RFC 3339 shapes with any year (0000-9999), impossible months and days, and offsets. */
const timestamp = fc.oneof(
  fc.date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2200-01-01T00:00:00Z"), noInvalidDate: true }).map((date) => date.toISOString()),
  fc
    .tuple(
      fc.integer({ min: 0, max: 9999 }),
      fc.integer({ min: 0, max: 19 }),
      fc.integer({ min: 0, max: 39 }),
      fc.integer({ min: 0, max: 29 }),
      fc.constantFrom("Z", "z", "+00:00", "-23:59", "+99:99", ".5Z", ".123456789+01:00"),
    )
    .map(([year, month, day, hour, zone]) => `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:00:00${zone}`),
  fc.constantFrom("1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2024-02-30T00:00:00Z", "tomorrow"),
  headerValue(30),
);

/** The value in `present` of `present + absent` cases, else null. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, present: number, absent: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: present, arbitrary }, { weight: absent, arbitrary: fc.constant(null) });
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

const count = fc.oneof(
  fc.constantFrom("0", "1", "2", "9007199254740991", "9007199254740992", "-1", "01", "1.0", "1e3", "0x10", " 7", ""),
  digits(20),
  headerValue(12),
);

export interface Targets {
  /** Project the fuzzer works in (the valid token's project when auth is on). */
  project: string;
  /** Existing non-guard streams the fuzzer may change at will. */
  scratch: string[];
  /** Paths of guard streams: fork sources only (forking reads its source, never changes it). */
  guardPaths: string[];
  /** When auth is on: the manage token for `project`, which most fuzzed requests carry. */
  token: string | null;
  /** When auth is on: other real credentials (read-only, another project's, the admin token). */
  otherCredentials: string[];
}

function streamPathArb(targets: Targets) {
  return fc.oneof(
    fc.constantFrom(...targets.scratch).map((name) => `/v1/stream/${targets.project}/${name}`),
    fc.constantFrom(...targets.guardPaths),
    fresh("f-").map((name) => `/v1/stream/${targets.project}/${name}`),
    fc.constantFrom("/v1/stream/", "/v1/stream/a/b/c", "relative", "http://[::1", "https://example.com/v1/stream/x/y"),
    headerValue(60),
  );
}

function protocolHeaderValues(targets: Targets): Record<string, fc.Arbitrary<string>> {
  return {
    "Content-Type": contentType,
    "Stream-TTL": count,
    "Stream-Expires-At": timestamp,
    "Stream-Seq": fc.oneof(digits(6), headerValue(16)),
    "Stream-Closed": fc.oneof(fc.constantFrom("true", "TRUE", "false", "1", "yes", ""), headerValue(8)),
    "Stream-Public": fc.oneof(fc.constantFrom("true", "false", "1"), headerValue(8)),
    // A valid policy keeps a day: no fuzz run lasts long enough for it to trim anything.
    "Stream-Retention": fc.oneof(fc.constantFrom("max-age=86400", "max-age=0", "max-size=1", "max-age=1, max-age=2", ""), headerValue(24)),
    "Stream-Forked-From": streamPathArb(targets),
    "Stream-Fork-Offset": offsetValue,
    "Stream-Fork-Sub-Offset": count,
    "Producer-Id": fc.oneof(fc.constantFrom("p1", "p2", "writer", ""), headerValue(24)),
    "Producer-Epoch": count,
    "Producer-Seq": count,
    // Short waits only: a valid one may hold an append until its data is committed.
    "Stream-Await-Commit": fc.oneof(fc.constantFrom("0", "50", "30001", "-1", "01", "1e3"), headerValue(8)),
    "If-None-Match": fc.oneof(fc.constantFrom('"1:0:0"', "*", 'W/"x"'), headerValue(30)),
    Origin: fc.oneof(fc.constantFrom("https://app.example", "null", "http://127.0.0.1"), headerValue(30)),
    "Access-Control-Request-Method": fc.constantFrom("POST", "PUT", "DELETE", "PATCH"),
  };
}

function authorization(targets: Targets) {
  const junk = fc.oneof(
    fc.constantFrom("Bearer", "Bearer ", "bearer x.y.z", "Basic YTpi", "Bearer a.b.c", "Bearer ....", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJmeiJ9."),
    headerValue(60),
    headerValue(60).map((value) => `Bearer ${value}`),
    fc.tuple(fc.base64String({ maxLength: 40 }), fc.base64String({ maxLength: 80 }), fc.base64String({ maxLength: 40 })).map((parts) => `Bearer ${parts.join(".")}`),
    fc.integer({ min: 4000, max: 9000 }).map((length) => `Bearer ${"a".repeat(length)}.b.c`),
  );
  if (targets.token === null) return junk;
  const token = targets.token;
  const tampered = fc.tuple(fc.nat(), fc.constantFrom(..."AZaz09-_.")).map(([at, char]) => {
    const index = 7 + (at % (token.length - 7));
    return token.slice(0, index) + char + token.slice(index + 1);
  });
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant(token) },
    { weight: targets.otherCredentials.length > 0 ? 2 : 0, arbitrary: fc.constantFrom(token, ...targets.otherCredentials) },
    { weight: 2, arbitrary: junk },
    { weight: 1, arbitrary: tampered },
  );
}

/** A few protocol headers with fitting or junk values, sometimes one huge one (up to ~20 KB in all). */
export function headersArb(targets: Targets) {
  const values = protocolHeaderValues(targets);
  const names = Object.keys(values);
  const chosen = fc.subarray(names, { maxLength: 5 }).chain((picked) =>
    fc.tuple(...picked.map((name) => (values[name] ?? headerValue()).map((value) => [name, value] as const))),
  );
  const huge = sometimes(
    fc.tuple(fc.constantFrom("X-Fuzz-Padding", ...names), fc.integer({ min: 1_000, max: 20_000 }), printable).map(
      ([name, length, char]) => [name, char.repeat(length)] as const,
    ),
    1,
    8,
  );
  const auth = targets.token !== null ? sometimes(authorization(targets), 9, 1) : sometimes(authorization(targets), 1, 3);
  return fc.tuple(chosen, huge, auth).map(([entries, big, token]) => {
    const headers: Record<string, string> = Object.fromEntries(entries);
    if (big) headers[big[0]] = big[1];
    if (token !== null) headers.Authorization = token;
    return headers;
  });
}

// --- bodies -------------------------------------------------------------------------------------

const truncatedJson = fc.json({ maxDepth: 4 }).chain((text) => fc.nat({ max: text.length }).map((cut) => text.slice(0, cut)));

export function bodyArb(targets: Targets) {
  const text = (value: fc.Arbitrary<string>) => value.map((piece): BodyPiece[] => [piece]);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant<BodyPiece[]>([]) },
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((bytes): BodyPiece[] => [bytes]) },
    { weight: 4, arbitrary: text(fc.json({ maxDepth: 4 })) },
    { weight: 2, arbitrary: text(truncatedJson) },
    { weight: 2, arbitrary: text(fc.string({ unit: "binary", maxLength: 200 })) },
    { weight: 1, arbitrary: text(fc.constantFrom("[]", "{}", "null", "[[]]", '"\\ud800"', "\uFEFF[1]", "1e400", "[1,]", "{\"a\":1}{\"b\":2}")) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom("1,", '"x",', "{},", "null,"), fc.integer({ min: 1, max: 200_000 })).map(
      ([item, times]): BodyPiece[] => ["[", { repeat: item, times }, "0]"]) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(["[", "]"], ['{"a":', "}"]), fc.integer({ min: 1, max: 100_000 }), fc.boolean()).map(
      ([[open, close], depth, balanced]): BodyPiece[] => [{ repeat: open, times: depth }, "1", { repeat: close, times: balanced ? depth : depth - 1 }]) },
    { weight: 3, arbitrary: subscribeBody(targets).map((body): BodyPiece[] => [body]) },
    { weight: 1, arbitrary: adminBody.map((body): BodyPiece[] => [body]) },
    { weight: 1, arbitrary: fc.constantFrom<BodyPiece[]>([{ repeat: "x", times: 16 * 1024 + 1 }], [{ repeat: "y", times: 8 * 1024 * 1024 + 1 }]) },
  );
}

function subscribeBody(targets: Targets) {
  const estuaryId = fc.oneof(fc.constantFrom(...targets.scratch), fresh("e-"), validName, headerValue(20), fc.constant(""));
  const value = fc.record(
    {
      estuaryId: fc.oneof({ weight: 6, arbitrary: estuaryId }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }),
      from: fc.oneof({ weight: 6, arbitrary: offsetValue }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }),
      public: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }),
      envelope: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("raw", "cloudevents") }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }),
      typePrefix: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("com.acme.orders", "x") }, { weight: 1, arbitrary: headerValue(20) }),
      extra: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  );
  return value.map((object) => JSON.stringify(object));
}

const adminBody = fc
  .record(
    {
      project: fc.oneof(fresh("ap-"), headerValue(20)),
      corsOrigins: fc.oneof(fc.array(fc.oneof(fc.webUrl(), headerValue(20)), { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })),
      scope: fc.oneof(fc.subarray(["read", "write", "manage", "admin"]), fc.jsonValue({ maxDepth: 1 })),
      ttlSeconds: fc.oneof(fc.integer({ min: -10, max: 3_000_000 }), fc.jsonValue({ maxDepth: 1 })),
      streams: fc.array(fc.oneof(validName, headerValue(20)), { maxLength: 3 }),
      retention: fc.oneof(fc.constantFrom("max-age=86400", "max-age=0", "junk", null), headerValue(20), fc.jsonValue({ maxDepth: 1 })),
      user: fc.oneof(headerValue(20), fc.string({ unit: "binary", maxLength: 140 }), fc.jsonValue({ maxDepth: 1 })),
      // A token's presence info: objects near the 1 KiB bound, and other JSON.
      info: fc.oneof(fc.dictionary(headerValue(8), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }), fc.string({ minLength: 1_000, maxLength: 1_100 }).map((note) => ({ note })), fc.jsonValue({ maxDepth: 1 })),
    },
    { requiredKeys: [] },
  )
  .map((object) => JSON.stringify(object));

/** Bodies of POST .../issuers and .../revocations: near-valid, wrong types, private and loopback URLs. */
const identityBody = fc
  .record(
    {
      issuer: fc.oneof(fc.webUrl(), headerValue(20), fc.jsonValue({ maxDepth: 1 })),
      jwksUrl: fc.oneof(
        fc.webUrl(),
        fc.constantFrom("http://127.0.0.1:9/jwks.json", "https://10.0.0.1/k", "https://169.254.169.254/latest", "https://[::1]/k", "file:///etc/passwd", "https://user:pw@idp.example/k", ""),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      audience: fc.oneof(headerValue(20), fc.jsonValue({ maxDepth: 1 })),
      userClaim: fc.oneof(headerValue(20), fc.constant(""), fc.jsonValue({ maxDepth: 1 })),
      scopes: fc.oneof(fc.subarray(["read", "write", "manage", "admin"]), fc.jsonValue({ maxDepth: 1 })),
      streamsClaim: fc.oneof(headerValue(20), fc.jsonValue({ maxDepth: 1 })),
      jti: fc.oneof(headerValue(20), fc.string({ maxLength: 140 }), fc.jsonValue({ maxDepth: 1 })),
      user: fc.oneof(headerValue(20), fc.string({ unit: "binary", maxLength: 140 }), fc.jsonValue({ maxDepth: 1 })),
      ttlSeconds: fc.oneof(fc.integer({ min: -10, max: 3_000_000 }), fc.jsonValue({ maxDepth: 1 })),
    },
    { requiredKeys: [] },
  )
  .map((object) => JSON.stringify(object));

// --- paths --------------------------------------------------------------------------------------

function percentBytes(bytes: Uint8Array): string {
  return [...bytes].map((byte) => `%${byte.toString(16).padStart(2, "0").toUpperCase()}`).join("");
}

function segmentArb(targets: Targets) {
  return fc.oneof(
    { weight: 6, arbitrary: validName },
    { weight: 4, arbitrary: fc.constantFrom(...targets.scratch, targets.project, "default") },
    { weight: 2, arbitrary: fc.constantFrom("", ".", "..", "%2e%2e", "%2E", "%2F", "%00", "%", "%zz", "%C3%A9", "%FF%FE", "a%2Fb", "?", "#", "\\", ";", "~", "subscribe", "subscribers", "__ds", "subscriptions", "jwks.json", "claim", "callback") },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }).map(percentBytes) },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 600 }).map((length) => "n".repeat(length)) },
  );
}

const ROUTE_PREFIXES = ["/v1/stream/", "/v1/estuary/subscribe/", "/v1/estuary/subscribers/", "/v1/estuary/policy/", "/v1/estuary/sinks/", "/v1/estuary/", "/v1/connections/", "/v1/presence/"];
/** Subscription routes name subscriptions, not streams: random paths only (a DELETE of any id is a 204). */
const RESERVED_PREFIX = "/v1/stream/__ds/subscriptions/";

export function pathArb(targets: Targets) {
  const segment = segmentArb(targets);
  const routed = fc
    .tuple(fc.constantFrom(...ROUTE_PREFIXES, RESERVED_PREFIX), fc.array(segment, { minLength: 1, maxLength: 3 }), fc.constantFrom("", "", "", "/", "//"))
    .map(([prefix, segments, tail]) => `${prefix}${segments.join("/")}${tail}`);
  const projectStream = fc
    .tuple(fc.constantFrom(...ROUTE_PREFIXES), fc.constantFrom(...targets.scratch), fresh("e-"))
    .map(([prefix, name, other]) => (prefix === "/v1/estuary/" ? `${prefix}${targets.project}/${other}` : `${prefix}${targets.project}/${name}`));
  const admin = fc
    .tuple(fc.option(fc.oneof(fresh("ap-"), segment)), fc.constantFrom("", "/tokens", "/secrets", "/secrets/k_x", "/secrets/", "/streams", "/streams/", "/x/y", "/issuers", "/issuers/", "/issuers?issuer=x", "/revocations", "/revocations/x"))
    .map(([project, rest]) => (project === null ? "/v1/admin/projects" : `/v1/admin/projects/${project}${rest}`));
  const odd = fc.oneof(
    fc.constantFrom("/", "//", "/v1", "/v1/", "/v1/stream", "/v2/stream/x", "/V1/STREAM/x", "/v1//stream/x", "//v1/stream/x", "/v1/stream/./x", "/v1/stream/a/../../x", "/v1/estuary", "/v1/admin"),
    // The public routes, and near misses of them.
    fc.constantFrom("/v1/openapi.json", "/v1/openapi.json/", "/v1/openapi.json/x", "/v1/OPENAPI.JSON", "/v1/openapi", "/v1/./openapi.json"),
    fc.constantFrom("/health", "/health/", "/health/x", "/HEALTH", "/v1/health", "/v1/connections", "/v1/connections/"),
    fc.constantFrom("/v1/presence", "/v1/presence/", "/v1/presence/x", "/v1/presence/x/y/events/z", "/v1/presence/x/y/", "/v1/presence/x/y%40presence", "/v1/stream/x/y@presence", "/v1/presence/x/y/sinks/", "/v1/presence/x/y/sinks/a/b", "/v1/presence/x/y/sinks/a/enable/x"),
    fc.constantFrom("/v1/stream/__ds", "/v1/stream/__ds/", "/v1/stream/__ds/jwks.json", "/v1/stream/__ds/jwks.json/x", "/v1/stream/__ds/subscriptions", "/v1/stream/__ds/x", "/v1/stream/__ds/__ds"),
    fc.array(segment, { maxLength: 4 }).map((segments) => `/${segments.join("/")}`),
  );
  return fc.oneof(
    { weight: 6, arbitrary: routed },
    { weight: 6, arbitrary: projectStream },
    { weight: 2, arbitrary: admin },
    { weight: 2, arbitrary: odd },
  );
}

const METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"] as const;

/** The content type a scratch stream was created with (its name says which). */
export function scratchType(name: string): string {
  if (name.includes("json")) return "application/json";
  if (name.includes("bin")) return "application/octet-stream";
  return "text/plain";
}

type Route = Omit<FuzzRequest, "kind">;

/** Mostly well-formed requests for one route, so fuzzing reaches the handlers' deeper logic. */
function coherentRequest(targets: Targets) {
  const { project } = targets;
  const scratch = fc.constantFrom(...targets.scratch);
  const estuary = fc.constantFrom("e-1", "e-2", "e-3");
  // A small pool of names, so streams made here (forks of scratch streams among them) also get deleted again.
  const pooled = fc.oneof(fc.constantFrom("f-1", "f-2", "f-3", "f-4"), fresh("f-"));
  const auth = targets.token !== null ? sometimes(authorization(targets), 9, 1) : fc.constant(null);
  const small = fc.nat({ max: 300 }).map(formatOffset);
  const readQuery = fc
    .tuple(
      fc.oneof(fc.constantFrom("-1", "now"), small, offsetValue),
      fc.constantFrom(null, null, "long-poll", "sse"),
      sometimes(fc.oneof(digits(12), headerValue(12)), 1, 3),
    )
    .map(([offset, live, cursor]) => `?offset=${encodeURIComponent(offset)}${live ? `&live=${live}` : ""}${cursor !== null ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
  const producer = sometimes(
    fc.tuple(fc.constantFrom("p1", "p2"), fc.nat({ max: 3 }), fc.nat({ max: 6 })).map(([id, epoch, seq]) => ({
      "Producer-Id": id,
      "Producer-Epoch": String(epoch),
      "Producer-Seq": String(seq),
    })),
    1,
    2,
  );
  const payload = (type: string) =>
    type === "application/json"
      ? fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)), truncatedJson)
      : fc.oneof(fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 512 }));
  const append = fc
    .tuple(scratch, fc.boolean(), producer, sometimes(digits(4), 1, 3), sometimes(fc.constant("true"), 1, 12))
    .chain(([name, ownType, producerHeaders, seq, closed]) =>
      fc.tuple(ownType ? fc.constant(scratchType(name)) : contentType, payload(scratchType(name))).map(([type, body]): Route => ({
        method: "POST",
        path: `/v1/stream/${project}/${name}`,
        query: "",
        headers: { "Content-Type": type, ...producerHeaders, ...(seq !== null ? { "Stream-Seq": seq } : {}), ...(closed !== null ? { "Stream-Closed": closed } : {}) },
        body: [body],
      })),
    );
  const configValues: Record<string, fc.Arbitrary<string>> = {
    "Content-Type": fc.oneof(fc.constantFrom("text/plain", "application/json", "application/octet-stream"), contentType),
    "Stream-TTL": fc.oneof(fc.constantFrom("1", "60", "3600"), count),
    "Stream-Expires-At": timestamp,
    "Stream-Closed": fc.constantFrom("true", "false"),
    "Stream-Public": fc.constantFrom("true", "false"),
    "Stream-Forked-From": fc.oneof(scratch.map((name) => `/v1/stream/${project}/${name}`), streamPathArb(targets)),
    "Stream-Fork-Offset": fc.oneof(small, offsetValue),
    "Stream-Fork-Sub-Offset": fc.oneof(fc.constantFrom("0", "1", "2", "5"), count),
  };
  // Few headers at a time, so a create often has nothing else wrong with it.
  const configHeaders = fc
    .subarray(Object.keys(configValues), { maxLength: 3 })
    .chain((names) => fc.tuple(...names.map((name) => (configValues[name] ?? headerValue()).map((value) => [name, value] as const))))
    .map((entries): Record<string, string> => Object.fromEntries(entries));
  const create = fc
    .tuple(fc.oneof(pooled, scratch), configHeaders, fc.oneof(fc.constant(""), fc.json({ maxDepth: 2 }), fc.string({ maxLength: 100 })))
    .map(([name, headers, body]): Route => ({
      method: "PUT",
      path: `/v1/stream/${project}/${name}`,
      query: "",
      headers,
      body: body === "" ? [] : [body],
    }));
  const read = fc.tuple(fc.oneof(scratch, pooled, estuary), readQuery, sometimes(fc.constantFrom('"1:0:0"', '"2:0:5"', "*"), 1, 4)).map(([name, query, etag]): Route => ({
    method: "GET",
    path: `/v1/stream/${project}/${name}`,
    query,
    headers: etag !== null ? { "If-None-Match": etag } : {},
    body: [],
  }));
  // A live=ws read: an upgrade with any offset, sometimes a ?token= (what a browser sends) and an Origin.
  const socketToken = targets.token !== null ? authorization(targets).map((value) => value.replace(/^Bearer /, "")) : fc.oneof(fc.constant("x.y.z"), headerValue(20));
  const socketRead = fc
    .tuple(
      // Mostly existing streams and valid offsets, so many upgrades get their 101 and first frame.
      fc.oneof({ weight: 3, arbitrary: scratch }, { weight: 1, arbitrary: pooled }, { weight: 1, arbitrary: estuary }),
      fc.oneof({ weight: 3, arbitrary: fc.constantFrom("-1", "now") }, { weight: 1, arbitrary: small }, { weight: 1, arbitrary: offsetValue }),
      sometimes(socketToken, 1, 2),
      sometimes(fc.oneof(fc.constantFrom("https://app.example", "null", "http://127.0.0.1"), headerValue(30)), 1, 3),
      // A reader naming itself (auth off), or trying to (auth on: refused with 400).
      sometimes(fc.oneof(fc.constantFrom("alice", "", "a%00b"), fc.string({ unit: "binary", maxLength: 140 })), 1, 3),
      // Joining presence, with or without a user, or with a value that is not true/false.
      sometimes(fc.oneof(fc.constantFrom("true", "true", "false", "", "TRUE", "1"), headerValue(8)), 1, 3),
    )
    .map(([name, offset, token, origin, user, presence]): Route => ({
      method: "GET",
      path: `/v1/stream/${project}/${name}`,
      query: `?offset=${encodeURIComponent(offset)}&live=ws${token !== null ? `&token=${encodeURIComponent(token)}` : ""}${user !== null ? `&user=${encodeURIComponent(user)}` : ""}${presence !== null ? `&presence=${encodeURIComponent(presence)}` : ""}`,
      headers: origin !== null ? { Origin: origin } : {},
      body: [],
      upgrade: true,
    }));
  const simple = fc.tuple(fc.constantFrom("HEAD", "DELETE", "DELETE", "HEAD", "OPTIONS", "PATCH"), fc.oneof({ weight: 4, arbitrary: pooled }, { weight: 1, arbitrary: scratch }, { weight: 1, arbitrary: estuary })).map(([method, name]): Route => ({
    method,
    path: `/v1/stream/${project}/${name}`,
    query: "",
    headers: {},
    body: [],
  }));
  const subscription = fc
    .tuple(fc.constantFrom("POST", "POST", "DELETE"), scratch, fc.record({ estuaryId: fc.oneof(estuary, fresh("e-")), from: fc.oneof(fc.constantFrom("now", "-1"), small) }, { requiredKeys: ["estuaryId"] }))
    .map(([method, name, body]): Route => ({
      method,
      path: `/v1/estuary/subscribe/${project}/${name}`,
      query: "",
      headers: { "Content-Type": "application/json" },
      body: [JSON.stringify(body)],
    }));
  const estuaryRoute = fc
    .tuple(fc.constantFrom("GET", "GET", "DELETE"), estuary, scratch, fc.boolean())
    .map(([method, id, name, status]): Route => ({
      method: status ? "GET" : method,
      path: status ? `/v1/estuary/subscribers/${project}/${name}` : `/v1/estuary/${project}/${id}`,
      query: "",
      headers: {},
      body: [],
    }));
  const sinkId = fc.oneof(fc.constantFrom("k-1", "k-2"), fresh("k-"));
  const sinkUrl = fc.constantFrom("https://sink.example/hook", "http://127.0.0.1:1/hook", ...UNSAFE_SINK_URLS);
  const sinkManage = fc
    .tuple(fc.constantFrom("POST", "POST", "DELETE"), scratch, sinkId, sinkUrl, fc.constantFrom("raw", "cloudevents", "xml"), fc.option(fc.oneof(fc.constantFrom("now", "-1"), small)))
    .map(([method, name, id, url, envelope, from]): Route => ({
      method,
      path: `/v1/estuary/subscribe/${project}/${name}`,
      query: "",
      headers: { "Content-Type": "application/json" },
      body: [JSON.stringify(method === "DELETE" ? { sinkId: id } : { sink: { id, url, envelope }, ...(from === null ? {} : { from }) })],
    }));
  // The same sink bodies on a stream's presence log, and its sink state and enable routes.
  const presenceSinkManage = sinkManage.map((route): Route => ({ ...route, path: route.path.replace("/v1/estuary/subscribe/", "/v1/presence/") + "/sinks" }));
  const presenceSinkRead = fc.tuple(fc.constantFrom("GET", "GET", "POST", "OPTIONS"), scratch, sinkId).map(([method, name, id]): Route => ({
    method,
    path: `/v1/presence/${project}/${name}/sinks/${id}${method === "POST" ? "/enable" : ""}`,
    query: "",
    headers: {},
    body: [],
  }));
  const policyBody = fc.oneof(
    fc.constantFrom({ mode: "required" }, { mode: "all" }, { mode: "quorum", quorum: 1 }, { mode: "quorum", quorum: 3 }),
    fc.record({ mode: fc.oneof(fc.constantFrom("required", "quorum", "all", "most"), headerValue(8)), quorum: fc.jsonValue({ maxDepth: 0 }) }, { requiredKeys: [] }),
  );
  const policy = fc.tuple(fc.constantFrom("PUT", "PUT", "OPTIONS"), scratch, policyBody).map(([method, name, body]): Route => ({
    method,
    path: `/v1/estuary/policy/${project}/${name}`,
    query: "",
    headers: { "Content-Type": "application/json" },
    body: method === "PUT" ? [JSON.stringify(body)] : [],
  }));
  const bulk = fc.tuple(scratch, fc.array(fc.oneof(estuary, fresh("e-")), { minLength: 1, maxLength: 12 }), fc.option(fc.boolean())).map(
    ([name, estuaryIds, required]): Route => ({
      method: "POST",
      path: `/v1/estuary/subscribe/${project}/${name}`,
      query: "",
      headers: { "Content-Type": "application/json" },
      body: [JSON.stringify({ estuaryIds, ...(required === null ? {} : { required }) })],
    }),
  );
  const sinkRead = fc.tuple(fc.constantFrom("GET", "GET", "POST", "OPTIONS"), scratch, sinkId).map(([method, name, id]): Route => ({
    method,
    path: `/v1/estuary/sinks/${project}/${name}/${id}${method === "POST" ? "/enable" : ""}`,
    query: "",
    headers: {},
    body: [],
  }));
  const connections = fc.tuple(fc.constantFrom("GET", "GET", "OPTIONS"), fc.option(fc.oneof(scratch, estuary, pooled))).map(([method, name]): Route => ({
    method,
    path: name === null ? `/v1/connections/${project}` : `/v1/connections/${project}/${name}`,
    query: "",
    headers: {},
    body: [],
  }));
  // Presence: the snapshot with paging queries, and the presence log in every read mode.
  const presenceQuery = fc.oneof(
    fc.constantFrom("", "?limit=1", "?limit=1000", "?limit=0", "?limit=1001", "?limit=x", "?after=alice", "?after=", "?after=%00", "?limit=2&after=u1"),
    headerValue(20).map((value) => `?after=${encodeURIComponent(value)}`),
  );
  const presence = fc.tuple(fc.constantFrom("GET", "GET", "OPTIONS", "POST"), fc.oneof(scratch, pooled), presenceQuery).map(([method, name, query]): Route => ({
    method,
    path: `/v1/presence/${project}/${name}`,
    query,
    headers: {},
    body: [],
  }));
  const presenceLog = fc.tuple(fc.oneof(scratch, pooled), readQuery).map(([name, query]): Route => ({
    method: "GET",
    path: `/v1/presence/${project}/${name}/events`,
    query,
    headers: {},
    body: [],
  }));
  const subscriptionId = fc.oneof(fc.constantFrom("s-1", "s-2", "s-3"), fresh("s-"));
  const dsBody = fc.record(
    {
      type: fc.oneof(fc.constantFrom("webhook", "pull-wake"), headerValue(10)),
      pattern: fc.oneof(fc.constantFrom(`${project}/*`, `${project}/**`, "*", "**", "a/b/c", ""), scratch.map((name) => `${project}/${name}`)),
      streams: fc.array(fc.oneof(scratch.map((name) => `${project}/${name}`), validName, headerValue(20)), { maxLength: 3 }),
      webhook: fc.record({ url: fc.constantFrom("https://example.com/hook", "http://10.0.0.1/hook", "https://169.254.169.254/", "http://127.0.0.1:1/hook", "ftp://x", "not a url") }),
      wake_stream: fc.oneof(fc.constantFrom(`${project}/wake-pool`), validName),
      lease_ttl_ms: fc.oneof(fc.constantFrom(1_000, 30_000, 600_000), fc.integer()),
      description: fc.string({ maxLength: 30 }),
    },
    { requiredKeys: [] },
  );
  const dsAnswer = fc.record(
    {
      wake_id: fc.oneof(fc.constant("w_0"), headerValue(10)),
      generation: fc.integer({ min: -1, max: 3 }),
      acks: fc.array(fc.record({ stream: scratch.map((name) => `${project}/${name}`), offset: fc.oneof(small, fc.constantFrom("-1", "now")) }), { maxLength: 2 }),
      done: fc.boolean(),
    },
    { requiredKeys: [] },
  );
  const reserved = fc
    .tuple(
      fc.constantFrom("PUT", "PUT", "GET", "DELETE", "POST", "PATCH"),
      subscriptionId,
      fc.constantFrom("", "", "", "/streams", `/streams/${encodeURIComponent(`${project}/x`)}`, "/claim", "/callback", "/ack", "/release"),
      dsBody,
      dsAnswer,
      sometimes(fc.constantFrom("Bearer junk.token", "Bearer x", "Basic abc"), 1, 1),
    )
    .map(([method, id, action, body, answer, callbackToken]): Route => {
      const answering = ["/callback", "/ack", "/release"].includes(action);
      const json = action === "" ? body : action === "/streams" ? { streams: body.streams ?? [] } : action === "/claim" ? { worker: "w-1" } : answer;
      return {
        method: action === "" ? method : action.startsWith("/streams/") ? "DELETE" : "POST",
        path: `/v1/stream/__ds/subscriptions/${id}${action}`,
        query: "",
        headers: { "Content-Type": "application/json", ...(answering && callbackToken !== null ? { Authorization: callbackToken } : {}) },
        body: [JSON.stringify(json)],
      };
    });
  const admin = fc.tuple(fc.constantFrom("POST", "GET", "PATCH"), fresh("ap-"), adminBody).map(([method, name, body]): Route => ({
    method,
    path: method === "POST" ? "/v1/admin/projects" : `/v1/admin/projects/${name}`,
    query: "",
    headers: { "Content-Type": "application/json" },
    body: [method === "POST" ? JSON.stringify({ project: name }) : body],
  }));
  // Issuers and revocations of the fuzzed project (or an unknown one): any body, any method.
  const identity = fc
    .tuple(fc.constantFrom("POST", "GET", "DELETE", "PUT"), fc.oneof(fc.constant(targets.project), fresh("ap-")), fc.constantFrom("/issuers", "/revocations"), identityBody, fc.option(fc.oneof(fc.webUrl(), headerValue(20))))
    .map(([method, project, what, body, issuer]): Route => ({
      method,
      path: `/v1/admin/projects/${project}${what}`,
      query: method === "DELETE" && issuer !== null ? `?issuer=${encodeURIComponent(issuer)}` : "",
      headers: { "Content-Type": "application/json" },
      body: method === "POST" || method === "PUT" ? [body] : [],
    }));
  const listing = fc.tuple(fc.option(fc.oneof(fresh("ap-"), fc.constant(targets.project), fc.constant("default"))), pageQueryString).map(([name, query]): Route => ({
    method: "GET",
    path: name === null ? "/v1/admin/projects" : `/v1/admin/projects/${name}/streams`,
    query,
    headers: {},
    body: [],
  }));
  const route = fc.oneof(
    { weight: 5, arbitrary: append },
    { weight: 4, arbitrary: create },
    { weight: 5, arbitrary: read },
    { weight: 2, arbitrary: socketRead },
    { weight: 2, arbitrary: simple },
    { weight: 3, arbitrary: subscription },
    { weight: 2, arbitrary: estuaryRoute },
    { weight: 1, arbitrary: sinkManage },
    { weight: 1, arbitrary: sinkRead },
    { weight: 1, arbitrary: policy },
    { weight: 1, arbitrary: bulk },
    { weight: 1, arbitrary: connections },
    { weight: 1, arbitrary: presence },
    { weight: 1, arbitrary: presenceLog },
    { weight: 1, arbitrary: presenceSinkManage },
    { weight: 1, arbitrary: presenceSinkRead },
    { weight: 1, arbitrary: admin },
    { weight: 1, arbitrary: identity },
    { weight: 1, arbitrary: listing },
    { weight: 2, arbitrary: reserved },
  );
  // One in three gets a few random protocol headers on top.
  const extra = sometimes(headersArb(targets), 1, 2);
  return fc.tuple(route, extra, auth).map(
    ([request, more, token]): FuzzRequest => ({
      kind: request.upgrade ? "coherent upgrade" : "coherent",
      ...request,
      headers: { ...request.headers, ...more, ...(token !== null ? { Authorization: token } : {}) },
    }),
  );
}

/** Anything, anywhere except the guard streams (which are reached only as fork sources). */
export function generalRequest(targets: Targets, guardMark: string) {
  const random = fc
    .record({
      method: fc.constantFrom(...METHODS),
      path: pathArb(targets),
      query: queryString,
      headers: headersArb(targets),
      body: bodyArb(targets),
      upgrade: fc.oneof({ weight: 7, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    })
    .map((request): FuzzRequest => (request.upgrade ? { kind: "random upgrade", ...request, method: "GET", body: [] } : { kind: "random", ...request }));
  return fc
    .oneof({ weight: 1, arbitrary: random }, { weight: 1, arbitrary: coherentRequest(targets) })
    .filter((request) => !mentionsGuard(request, guardMark));
}

/** True if the request's path, body or headers (other than a fork source) could name a guard stream. */
function mentionsGuard(request: FuzzRequest, guardMark: string): boolean {
  const pieces = [request.path, decodeLoosely(request.path), serverPath(request.path)];
  for (const [name, value] of Object.entries(request.headers)) if (name !== "Stream-Forked-From") pieces.push(value);
  for (const piece of request.body) if (typeof piece === "string") pieces.push(piece, decodeLoosely(piece));
  return pieces.some((piece) => piece.toLowerCase().includes(guardMark));
}

function decodeLoosely(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function serverPath(path: string): string {
  try {
    return decodeLoosely(new URL(`http://fuzz.invalid${path}`).pathname);
  } catch {
    return path;
  }
}

// --- malformed requests aimed at guard streams ----------------------------------------------------

/** Paths the server resolves to the guard itself: only requests refused for other reasons go there. */
function samePath(prefix: string, guard: Guard, project: string) {
  const { name } = guard;
  // The first letter percent-encoded: the server decodes it back to the same name.
  const code = name.charCodeAt(0).toString(16).toUpperCase();
  return fc.constantFrom(
    `${prefix}${project}/${name}`,
    `${prefix}${project}/${name}`,
    `${prefix}${project}/./${name}`,
    `${prefix}${project}/x/../${name}`,
    `${prefix}${project}/%2e/${name}`,
    `${prefix}${project}/%${code}${name.slice(1)}`,
    `${prefix}${project}/${name}#fragment`,
  );
}

/** Paths that look like the guard's but name no valid stream: refused whatever the method. */
function nearMissPath(prefix: string, guard: Guard, project: string) {
  const { name } = guard;
  return fc.constantFrom(
    `${prefix}${project}/${name}/`,
    `${prefix}${project}/${name}//`,
    `${prefix}${project}/${name}/x`,
    `${prefix}${project}//${name}`,
    `${prefix}/${project}/${name}`,
    `${prefix}x/${project}/${name}`,
    `${prefix}${project}%2F${name}`,
    `${prefix}${project}/${name}%2F`,
    `${prefix}${project}/${name}%00`,
    `${prefix}${project}/${name}%20`,
    `${prefix}${project}/${name}%C3%A9`,
    `${prefix}${project}/${name}%`,
    `${prefix}${project}/${name}%23`,
    `${prefix}${project}/${name}%3F`,
    `${prefix}${project}/${name}\\`,
    `${prefix}${project}/${name};x`,
    `${prefix}${project}/${name}/..`,
    `${prefix}${project}/${name}/%2e%2e`,
    `${prefix}${project}/${name}${"x".repeat(129 - name.length)}`,
    `${prefix.replace("/v1/", "/V1/")}${project}/${name}`,
    `${prefix.replace("/v1/", "/v1//")}${project}/${name}`,
  );
}

/** Content types whose media type differs from the guard's. */
function otherMediaType(guard: Guard) {
  const own = guard.contentType.toLowerCase();
  return mediaType.filter((value) => (value.split(";")[0] ?? "").trim().toLowerCase() !== own);
}

function sameMediaType(guard: Guard) {
  return fc.constantFrom(guard.contentType, guard.contentType.toUpperCase(), `${guard.contentType}; charset=utf-8`, `${guard.contentType};x=y`);
}

/** Bytes the guard's content type would accept as an append (valid JSON values in JSON mode). */
function acceptableBody(guard: Guard) {
  if (guard.json) return fc.jsonValue({ maxDepth: 3 }).filter((value) => !(Array.isArray(value) && value.length === 0)).map((value) => JSON.stringify(value));
  return fc.string({ minLength: 1, maxLength: 200 });
}

/** Bodies a JSON stream must refuse: not UTF-8, not JSON, or an empty array. */
const invalidJsonBody = fc
  .oneof(
    truncatedJson.map((text) => encoder.encode(text)),
    fc.uint8Array({ minLength: 1, maxLength: 300 }),
    fc.constantFrom("[]", " [ ] ", "\uFEFF[]", "[1,]", "{'a':1}", "NaN", "undefined", "[1]]", "{\"a\":1}{\"b\":2}").map((text) => encoder.encode(text)),
    fc.integer({ min: 2, max: 100_000 }).map((depth) => encoder.encode(`${"[".repeat(depth)}1${"]".repeat(depth - 1)}`)),
  )
  .filter((bytes) => {
    try {
      const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
      return Array.isArray(value) && value.length === 0;
    } catch {
      return true;
    }
  });

const noncanonicalCount = count.filter((value) => !/^(0|[1-9]\d*)$/.test(wire(value)) || !Number.isSafeInteger(Number(wire(value))));
const nonCount = count.filter((value) => !/^\d+$/.test(wire(value)) || !Number.isSafeInteger(Number(wire(value))));
const notTrue = headerValue(8).filter((value) => wire(value).toLowerCase() !== "true");

/** Stream-Retention values the PUT must refuse with 400 (parseRetention's rules). */
const malformedRetention = fc.oneof(
  fc.constantFrom("", "max-age", "max-age=", "max-age=0", "max-age=01", "max-age=-1", "max-bytes=1.5", "max-age=1,max-age=2", "min-age=5", "max-age=1;max-bytes=2", "max-age=99999999999999999"),
  headerValue(24).filter((value) => !/^\s*max-(age|bytes|messages)=[1-9]\d{0,15}\s*$/.test(value)),
);

/** Producer headers refused before anything is read: one missing, an empty id, or a non-integer epoch or seq. */
const brokenProducer = fc.oneof(
  fc.subarray(["Producer-Id", "Producer-Epoch", "Producer-Seq"], { minLength: 1, maxLength: 2 }).chain((names) =>
    fc.tuple(...names.map((name) => fc.oneof(digits(3), headerValue(10)).map((value) => [name, value] as const))).map((entries) => Object.fromEntries(entries)),
  ),
  fc.tuple(fc.constantFrom("", " ", "\t"), digits(3), digits(3)).map(([id, epoch, seq]) => ({ "Producer-Id": id, "Producer-Epoch": epoch, "Producer-Seq": seq })),
  fc.tuple(headerValue(10).filter((id) => wire(id) !== ""), nonCount, fc.oneof(digits(3), nonCount)).map(([id, epoch, seq]) => ({
    "Producer-Id": id,
    "Producer-Epoch": epoch,
    "Producer-Seq": seq,
  })),
  fc.tuple(headerValue(10).filter((id) => wire(id) !== ""), digits(3), nonCount).map(([id, epoch, seq]) => ({
    "Producer-Id": id,
    "Producer-Epoch": epoch,
    "Producer-Seq": seq,
  })),
);

/** Producer headers that are well formed but refused by guard-text's producer state ("writer", epoch 3, last seq 1). */
const refusedProducer = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat({ max: 100 })).map(([epoch, seq]) => ({ epoch, seq, id: "writer" })),
  fc.integer({ min: 3, max: 1_000 }).map((seq) => ({ epoch: 3, seq, id: "writer" })),
  fc.tuple(fc.integer({ min: 4, max: 1_000 }), fc.integer({ min: 1, max: 1_000 })).map(([epoch, seq]) => ({ epoch, seq, id: "writer" })),
  fc.tuple(fresh("new-"), fc.nat({ max: 5 }), fc.integer({ min: 1, max: 1_000 })).map(([id, epoch, seq]) => ({ epoch, seq, id })),
);

const badForkSource = fc.oneof(
  fc.constantFrom("/v1/stream/", "/v1/stream/a/b/c", "/v1/stream/%zz", "/v1/stream/a/", "http://[::1", "http://x/v1/stream/a/b/c", "ftp://x/v1/stream/a", "v1/stream/a"),
  headerValue(40).filter((value) => !wire(value).startsWith("/v1/stream/") && !/^https?:\/\//i.test(wire(value))),
);

/** Sink URLs the outbound checks refuse (private, loopback over https, link-local, metadata, not https). */
const UNSAFE_SINK_URLS = ["http://10.0.0.1/hook", "https://169.254.169.254/", "https://192.168.0.1/", "https://[::1]/", "https://metadata/", "ftp://x.example/", "not a url", ""];

/** Commit policies refused by validation. */
const refusedPolicyBody = fc
  .oneof(
    invalidJsonBody,
    fc.constantFrom('{"mode":"quorum"}', '{"mode":"all","quorum":2}', '{"mode":"quorum","quorum":0}', '{"mode":"quorum","quorum":1.5}', "{}", '{"mode":"required","x":1}'),
    headerValue(10).filter((mode) => !["required", "quorum", "all"].includes(mode)).map((mode) => JSON.stringify({ mode })),
  )
  .map((piece): BodyPiece[] => [piece]);

/** The CloudEvents type prefix rule (src/protocol/cloudevents.ts), kept apart so the fuzzer checks it independently. */
const TYPE_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Subscribe/unsubscribe bodies refused by validation, whatever the estuary or sink. */
function refusedSubscribeBody(withFrom: boolean) {
  const invalidId = fc.oneof(
    fc.constantFrom("", ".", "..", "a/b", "x".repeat(129), "é"),
    headerValue(20).filter((value) => !isValidName(value)),
  );
  const variants: fc.Arbitrary<BodyPiece>[] = [
    invalidJsonBody,
    fc.jsonValue({ maxDepth: 2 }).filter((value) => typeof value !== "object" || value === null || Array.isArray(value)).map((value) => JSON.stringify(value)),
    fc.dictionary(fc.string({ maxLength: 8 }).filter((key) => !["estuaryId", "sink", "sinkId"].includes(key)), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }).map((value) => JSON.stringify(value)),
    fc.oneof(invalidId, fc.jsonValue({ maxDepth: 1 }).filter((value) => typeof value !== "string")).map((estuaryId) => JSON.stringify({ estuaryId })),
    fc.constant(`{"estuaryId":"e-${"x".repeat(17_000)}"}`),
  ];
  if (!withFrom) variants.push(fc.oneof(invalidId, fc.jsonValue({ maxDepth: 1 }).filter((value) => typeof value !== "string")).map((sinkId) => JSON.stringify({ sinkId })));
  if (withFrom) {
    const badFrom = fc.oneof(
      headerValue(30).filter((value) => !isParsableOffset(value)),
      fc.jsonValue({ maxDepth: 1 }).filter((value) => typeof value !== "string" && value !== null),
    );
    variants.push(fc.tuple(fresh("e-"), badFrom).map(([estuaryId, from]) => JSON.stringify({ estuaryId, from })));
    // Data sinks: bad ids, unsafe URLs, unknown envelopes or fields, bad starts.
    const sinkUrl = fc.constantFrom("https://sink.example/hook", ...UNSAFE_SINK_URLS);
    variants.push(
      fc.tuple(invalidId, sinkUrl).map(([id, url]) => JSON.stringify({ sink: { id, url } })),
      fc.tuple(fresh("k-"), fc.constantFrom(...UNSAFE_SINK_URLS)).map(([id, url]) => JSON.stringify({ sink: { id, url } })),
      fc.tuple(fresh("k-"), headerValue(12).filter((value) => value !== "raw" && value !== "cloudevents")).map(([id, envelope]) => JSON.stringify({ sink: { id, url: "https://sink.example/hook", envelope } })),
      fc.tuple(fresh("k-"), badFrom).map(([id, from]) => JSON.stringify({ sink: { id, url: "https://sink.example/hook" }, from })),
      fresh("k-").map((id) => JSON.stringify({ sink: { id, url: "https://sink.example/hook" }, estuaryId: "e-1" })),
    );
    variants.push(
      fc.tuple(fresh("e-"), fc.jsonValue({ maxDepth: 1 }).filter((value) => typeof value !== "boolean" && value !== null)).map(([estuaryId, isPublic]) =>
        JSON.stringify({ estuaryId, public: isPublic }),
      ),
      fc.tuple(fresh("e-"), fc.jsonValue({ maxDepth: 1 }).filter((value) => typeof value !== "boolean" && value !== null)).map(([estuaryId, required]) =>
        JSON.stringify({ estuaryId, required }),
      ),
      // Bulk: both forms at once, none, too many, or one bad id among good ones.
      fresh("e-").map((estuaryId) => JSON.stringify({ estuaryId, estuaryIds: [estuaryId] })),
      fc.constant(JSON.stringify({ estuaryIds: [] })),
      fc.constant(JSON.stringify({ estuaryIds: Array.from({ length: 1_001 }, (_, i) => `e-${i}`) })),
      fc.tuple(fresh("e-"), invalidId).map(([good, bad]) => JSON.stringify({ estuaryIds: [good, bad] })),
    );
    // Estuary envelopes: unknown ones, type prefixes outside the rule, a prefix without CloudEvents.
    variants.push(
      fc.tuple(fresh("e-"), headerValue(12).filter((value) => value !== "raw" && value !== "cloudevents")).map(([estuaryId, envelope]) => JSON.stringify({ estuaryId, envelope })),
      fc.tuple(fresh("e-"), headerValue(20).filter((value) => !TYPE_PREFIX.test(value))).map(([estuaryId, typePrefix]) => JSON.stringify({ estuaryId, envelope: "cloudevents", typePrefix })),
      fc.tuple(fresh("e-"), fc.constantFrom(undefined, "raw")).map(([estuaryId, envelope]) => JSON.stringify({ estuaryId, envelope, typePrefix: "com.acme" })),
    );
  }
  return fc.oneof(...variants).map((piece): BodyPiece[] => [piece]);
}

/**
 * Requests aimed at one guard stream that the protocol must refuse with a 4xx: nothing here is a
 * valid write, so the guard must read back exactly as before.
 */
export function guardRequest(guard: Guard, targets: Targets, otherGuardPaths: string[]) {
  const { project } = targets;
  const streamPath = samePath("/v1/stream/", guard, project);
  const noise = headersArb(targets).map((headers) => {
    // Noise must not turn a refused request into a valid one.
    const kept: Record<string, string> = {};
    for (const name of ["If-None-Match", "Origin", "X-Fuzz-Padding"]) if (headers[name] !== undefined) kept[name] = headers[name];
    return kept;
  });
  const auth = targets.token !== null ? authorization(targets) : fc.constant(null);
  const build = (kind: string, method: string, path: fc.Arbitrary<string>, headers: fc.Arbitrary<Record<string, string>>, body: fc.Arbitrary<BodyPiece[]>, query: fc.Arbitrary<string> = fc.constant("")) =>
    fc.tuple(path, headers, body, query, noise, auth).map(
      ([p, h, b, q, n, token]): FuzzRequest => ({
        kind: `${kind} on ${guard.name}`,
        method,
        path: p,
        query: q,
        headers: { ...n, ...h, ...(token !== null ? { Authorization: token } : {}) },
        body: b,
      }),
    );
  const anyBody = bodyArb(targets);
  const good = acceptableBody(guard).map((text): BodyPiece[] => [text]);
  const rightType = sameMediaType(guard);

  const kinds: fc.Arbitrary<FuzzRequest>[] = [
    build("producer headers incomplete or not integers", "POST", streamPath, fc.tuple(rightType, brokenProducer).map(([type, producer]) => ({ "Content-Type": type, ...producer })), good),
    build("malformed Content-Type on append", "POST", streamPath, malformedMediaType.map((type) => ({ "Content-Type": type })), fc.oneof(good, anyBody)),
    build("other Content-Type on append", "POST", streamPath, otherMediaType(guard).map((type) => ({ "Content-Type": type })), acceptableBody(guard).map((text): BodyPiece[] => [text])),
    build("empty append without close", "POST", streamPath, fc.tuple(rightType, fc.option(notTrue)).map(([type, closed]) => ({ "Content-Type": type, ...(closed !== null ? { "Stream-Closed": closed } : {}) })), fc.constant<BodyPiece[]>([])),
    build("malformed TTL on create", "PUT", streamPath, noncanonicalCount.map((ttl) => ({ "Stream-TTL": ttl, "Content-Type": guard.contentType })), anyBody),
    build("malformed Stream-Retention on create", "PUT", streamPath, malformedRetention.map((retention) => ({ "Stream-Retention": retention, "Content-Type": guard.contentType })), anyBody),
    build("both TTL and Expires-At on create", "PUT", streamPath, fc.tuple(count, timestamp).map(([ttl, at]) => ({ "Stream-TTL": ttl, "Stream-Expires-At": at })), anyBody),
    build("malformed Expires-At on create", "PUT", streamPath, timestamp.filter((at) => !RFC3339.test(wire(at)) || Number.isNaN(Date.parse(wire(at)))).map((at) => ({ "Stream-Expires-At": at })), anyBody),
    build("fork offsets without a source", "PUT", streamPath, fc.tuple(fc.option(offsetValue), fc.option(count)).filter(([a, b]) => a !== null || b !== null).map(([offset, sub]) => ({
      ...(offset !== null ? { "Stream-Fork-Offset": offset } : {}),
      ...(sub !== null ? { "Stream-Fork-Sub-Offset": sub } : {}),
    })), anyBody),
    build("malformed fork source", "PUT", streamPath, badForkSource.map((source) => ({ "Stream-Forked-From": source })), anyBody),
    build("create over an existing stream as a fork", "PUT", streamPath, fc.tuple(fc.constantFrom(...otherGuardPaths), fc.option(fc.nat({ max: 20 }).map(formatOffset))).map(([source, offset]) => ({
      "Stream-Forked-From": source,
      ...(offset !== null ? { "Stream-Fork-Offset": offset } : {}),
    })), anyBody),
    build("create with another media type", "PUT", streamPath, otherMediaType(guard).map((type) => ({ "Content-Type": type })), anyBody),
    build("create with a malformed Content-Type", "PUT", streamPath, malformedMediaType.map((type) => ({ "Content-Type": type })), anyBody),
    build("create that would make the stream public", "PUT", streamPath, rightType.map((type) => ({
      "Content-Type": type,
      "Stream-Public": "true",
      ...(guard.closed ? { "Stream-Closed": "true" } : {}),
    })), anyBody),
    build("create with the other closed state", "PUT", streamPath, rightType.map((type) => ({
      "Content-Type": type,
      ...(guard.closed ? {} : { "Stream-Closed": "true" }),
    })), anyBody),
    build("malformed offset on read", "GET", streamPath, fc.constant({}), fc.constant<BodyPiece[]>([]), fc.tuple(headerValue(40).filter((value) => !isParsableOffset(value)), fc.option(liveValue.filter((live) => live === "long-poll" || live === "sse"))).map(
      ([offset, live]) => `?offset=${encodeURIComponent(offset)}${live !== null ? `&live=${live}` : ""}`)),
    build("repeated offset or live on read", "GET", streamPath, fc.constant({}), fc.constant<BodyPiece[]>([]), fc.tuple(offsetValue, offsetValue, fc.constantFrom("offset", "live")).map(
      ([a, b, repeated]) => (repeated === "offset" ? `?offset=${encodeURIComponent(a)}&offset=${encodeURIComponent(b)}` : `?offset=-1&live=long-poll&live=${encodeURIComponent(b)}`))),
    build("unknown live mode or live without offset", "GET", streamPath, fc.constant({}), fc.constant<BodyPiece[]>([]), fc.oneof(
      liveValue.filter((live) => live !== "long-poll" && live !== "sse").map((live) => `?offset=-1&live=${encodeURIComponent(live)}`),
      fc.constantFrom("?live=long-poll", "?live=sse", "?live=sse&cursor=1"),
    )),
    build("offset beyond the tail", "GET", streamPath, fc.constant({}), fc.constant<BodyPiece[]>([]), fc.tuple(fc.bigInt({ min: BigInt(guard.tail + 1), max: 2n ** 53n - 1n }), fc.constantFrom("", "&live=long-poll", "&live=sse")).map(
      ([position, live]) => `?offset=${formatOffset(position)}${live}`)),
    build("method the streams do not support", "PATCH", streamPath, fc.constant({}), anyBody),
    build("junk page query on the stream listing", "GET", fc.constant(`/v1/admin/projects/${project}/streams`), fc.constant({}), fc.constant<BodyPiece[]>([]), junkPageQuery),
    build("junk page query on the project listing", "GET", fc.constant("/v1/admin/projects"), fc.constant({}), fc.constant<BodyPiece[]>([]), junkPageQuery),
  ];
  if (guard.json) {
    kinds.push(build("invalid JSON append", "POST", streamPath, rightType.map((type) => ({ "Content-Type": type })), invalidJsonBody.map((bytes): BodyPiece[] => [bytes])));
    if (guard.interior.length > 0) {
      kinds.push(build("read from inside a JSON message", "GET", streamPath, fc.constant({}), fc.constant<BodyPiece[]>([]), fc.tuple(fc.constantFrom(...guard.interior), fc.constantFrom("", "&live=long-poll", "&live=sse")).map(
        ([position, live]) => `?offset=${formatOffset(position)}${live}`)));
    }
  }
  // WebSocket upgrades (live=ws) the Worker or the object must refuse before any 101.
  const noBody = fc.constant<BodyPiece[]>([]);
  const upgradeOf = (request: fc.Arbitrary<FuzzRequest>) => request.map((built): FuzzRequest => ({ ...built, kind: `${built.kind} (WebSocket upgrade)`, upgrade: true }));
  kinds.push(
    upgradeOf(build("malformed offset on read", "GET", streamPath, fc.constant({}), noBody, headerValue(40).filter((value) => !isParsableOffset(value)).map(
      (offset) => `?offset=${encodeURIComponent(offset)}&live=ws`))),
    upgradeOf(build("offset beyond the tail", "GET", streamPath, fc.constant({}), noBody, fc.bigInt({ min: BigInt(guard.tail + 1), max: 2n ** 53n - 1n }).map(
      (position) => `?offset=${formatOffset(position)}&live=ws`))),
    upgradeOf(build("live=ws without one offset", "GET", streamPath, fc.constant({}), noBody, fc.constantFrom("?live=ws", "?live=ws&live=ws", "?offset=-1&offset=now&live=ws", "?offset=&live=ws", "?offset=-1&live=ws&live=sse"))),
  );
  if (guard.json && guard.interior.length > 0) {
    kinds.push(upgradeOf(build("read from inside a JSON message", "GET", streamPath, fc.constant({}), noBody, fc.constantFrom(...guard.interior).map((position) => `?offset=${formatOffset(position)}&live=ws`))));
  }
  if (guard.kind === "text") {
    kinds.push(build("stale Stream-Seq", "POST", streamPath, fc.tuple(rightType, headerValue(6).filter((seq) => wire(seq) !== "" && wire(seq) <= "m")).map(([type, seq]) => ({ "Content-Type": type, "Stream-Seq": seq })), good));
    kinds.push(build("refused producer", "POST", streamPath, fc.tuple(rightType, refusedProducer).map(([type, producer]) => ({
      "Content-Type": type,
      "Producer-Id": producer.id,
      "Producer-Epoch": String(producer.epoch),
      "Producer-Seq": String(producer.seq),
    })), good));
  }
  if (guard.closed) {
    kinds.push(build("append to a closed stream", "POST", streamPath, fc.tuple(rightType, fc.boolean(), fc.option(fresh("np-"))).map(([type, close, producer]) => ({
      "Content-Type": type,
      ...(close ? { "Stream-Closed": "true" } : {}),
      ...(producer !== null ? { "Producer-Id": producer, "Producer-Epoch": "0", "Producer-Seq": "0" } : {}),
    })), good));
  }
  if (guard.kind === "source" || guard.kind === "estuary") {
    kinds.push(build("refused subscribe body", "POST", samePath("/v1/estuary/subscribe/", guard, project), fc.constant({ "Content-Type": "application/json" }), refusedSubscribeBody(true)));
    kinds.push(build("refused unsubscribe body", "DELETE", samePath("/v1/estuary/subscribe/", guard, project), fc.constant({ "Content-Type": "application/json" }), refusedSubscribeBody(false)));
    kinds.push(build("refused commit policy", "PUT", samePath("/v1/estuary/policy/", guard, project), fc.constant({ "Content-Type": "application/json" }), refusedPolicyBody));
  }
  const nearMethods = fc.constantFrom("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH");
  const nearMiss = fc
    .tuple(fc.constantFrom(...ROUTE_PREFIXES), nearMethods, headersArb(targets), anyBody, auth)
    .chain(([prefix, method, headers, body, token]) =>
      nearMissPath(prefix, guard, project).map(
        (path): FuzzRequest => ({
          kind: `near-miss path to ${guard.name}`,
          method,
          path,
          query: "",
          headers: { ...headers, ...(token !== null ? { Authorization: token } : {}) },
          body: method === "DELETE" && prefix === "/v1/estuary/subscribe/" ? [JSON.stringify({ estuaryId: "guard-estuary" })] : body,
        }),
      ),
    );
  return fc.oneof({ weight: 3, arbitrary: fc.oneof(...kinds) }, { weight: 1, arbitrary: nearMiss });
}
