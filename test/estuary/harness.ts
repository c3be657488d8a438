// HTTP helpers shared by the estuary tests: stream and estuary calls, paginated reads, polling.
/// <reference types="node" />
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { expect } from "vitest";
import { startWranglerDev, type DevServer, type StartOptions } from "../support/wrangler-dev";
import { mapLimit } from "../../src/map-limit";
import type { EstuaryDescription as EstuaryBody } from "../../src/estuary/description";
import type { FanoutStatusBody } from "../../src/routes/estuary/schemas";

export { mapLimit };

/** Keeps long-poll reads short so tests that wait at a tail stay quick. */
export const TEST_VARS = { LONG_POLL_TIMEOUT_MS: "1000" };
export const POLL_INTERVAL_MS = 50;
export const CONVERGE_TIMEOUT_MS = 30_000;

/**
 * Starts wrangler dev with the test vars. The free port is picked before wrangler binds it, so
 * another process can take it in between: that one failure is retried on a new port.
 */
export async function startServer(options: StartOptions = {}): Promise<DevServer> {
  const start = () => startWranglerDev({ ...options, vars: { ...TEST_VARS, ...options.vars } });
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      const portTaken = error instanceof Error && error.message.includes("Address already in use");
      if (!portTaken || attempt >= 3) throw error;
    }
  }
}

/** Stops the server and removes its state. */
export async function stopServer(server: DevServer | undefined): Promise<void> {
  if (!server) return;
  await server.stop();
  await rm(server.persistDir, { recursive: true, force: true });
}

/** A stream name no other test uses, so tests sharing a server cannot see each other's data. */
export function unique(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface ErrorBody {
  error: { code: string; message: string };
}

export type { EstuaryBody, FanoutStatusBody };

export class Api {
  constructor(readonly baseUrl: string) {}

  streamUrl(project: string, stream: string): string {
    return `${this.baseUrl}/v1/stream/${project}/${stream}`;
  }

  async create(project: string, stream: string, contentType: string): Promise<void> {
    const response = await fetch(this.streamUrl(project, stream), { method: "PUT", headers: { "Content-Type": contentType } });
    await response.body?.cancel();
    expect(response.status, `PUT ${project}/${stream}`).toBe(201);
  }

  /** Appends and returns the stream's new tail offset. */
  async append(project: string, stream: string, contentType: string, body: string | Uint8Array): Promise<string> {
    const response = await fetch(this.streamUrl(project, stream), {
      method: "POST",
      headers: { "Content-Type": contentType },
      body,
    });
    await response.body?.cancel();
    expect([200, 204], `POST ${project}/${stream}`).toContain(response.status);
    const tail = response.headers.get("Stream-Next-Offset");
    if (tail === null) throw new Error(`POST ${project}/${stream} returned no Stream-Next-Offset`);
    return tail;
  }

  /** Appends one JSON message (wrapped in an array, so it is stored as exactly one message). */
  appendJson(project: string, stream: string, message: unknown): Promise<string> {
    return this.append(project, stream, "application/json", JSON.stringify([message]));
  }

  subscribe(project: string, source: string, body: unknown): Promise<Response> {
    return fetch(`${this.baseUrl}/v1/estuary/subscribe/${project}/${source}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  }

  /** Subscribes and expects a new subscription (201). */
  async subscribeNew(project: string, source: string, estuaryId: string, from?: string): Promise<void> {
    const response = await this.subscribe(project, source, from === undefined ? { estuaryId } : { estuaryId, from });
    const text = await response.text();
    expect(response.status, `subscribe ${estuaryId} to ${source}: ${text}`).toBe(201);
  }

  unsubscribe(project: string, source: string, body: unknown): Promise<Response> {
    return fetch(`${this.baseUrl}/v1/estuary/subscribe/${project}/${source}`, {
      method: "DELETE",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  estuary(project: string, estuaryId: string, method: "GET" | "DELETE" = "GET"): Promise<Response> {
    return fetch(`${this.baseUrl}/v1/estuary/${project}/${estuaryId}`, { method });
  }

  async status(project: string, source: string): Promise<FanoutStatusBody> {
    const response = await fetch(`${this.baseUrl}/v1/estuary/subscribers/${project}/${source}`);
    expect(response.status, `status of ${project}/${source}`).toBe(200);
    return (await response.json()) as FanoutStatusBody;
  }

  /** The stream's current tail offset. */
  async tail(project: string, stream: string): Promise<string> {
    const response = await fetch(this.streamUrl(project, stream), { method: "HEAD" });
    expect(response.status, `HEAD ${project}/${stream}`).toBe(200);
    const tail = response.headers.get("Stream-Next-Offset");
    if (tail === null) throw new Error(`HEAD ${project}/${stream} returned no Stream-Next-Offset`);
    return tail;
  }

  /**
   * Reads the whole stream by catch-up GETs, following Stream-Next-Offset until a response that is
   * up to date and empty. Returns each page's body.
   */
  async readPages(project: string, stream: string): Promise<Uint8Array[]> {
    const pages: Uint8Array[] = [];
    let offset = "-1";
    for (let requests = 0; requests < 10_000; requests++) {
      const response = await fetch(`${this.streamUrl(project, stream)}?offset=${offset}`);
      const body = new Uint8Array(await response.arrayBuffer());
      expect(response.status, `GET ${project}/${stream}?offset=${offset}`).toBe(200);
      const next = response.headers.get("Stream-Next-Offset");
      if (next === null) throw new Error(`GET ${project}/${stream} returned no Stream-Next-Offset`);
      const upToDate = response.headers.get("Stream-Up-To-Date") === "true";
      if (upToDate && isEmptyPage(response.headers, body)) return pages;
      if (!upToDate && next === offset) throw new Error(`GET ${project}/${stream} made no progress at ${offset}`);
      pages.push(body);
      offset = next;
    }
    throw new Error(`GET ${project}/${stream} did not reach the tail`);
  }

  async readBytes(project: string, stream: string): Promise<Uint8Array> {
    return Buffer.concat(await this.readPages(project, stream));
  }

  async readText(project: string, stream: string): Promise<string> {
    return new TextDecoder().decode(await this.readBytes(project, stream));
  }

  /** Every message of a JSON stream, in order. */
  async readJson(project: string, stream: string): Promise<unknown[]> {
    const pages = await this.readPages(project, stream);
    return pages.flatMap((page) => JSON.parse(new TextDecoder().decode(page)) as unknown[]);
  }
}

/** A JSON stream's empty page is `[]`; any other stream's is zero bytes. */
function isEmptyPage(headers: Headers, body: Uint8Array): boolean {
  const json = (headers.get("Content-Type") ?? "").toLowerCase().startsWith("application/json");
  return json ? new TextDecoder().decode(body).trim() === "[]" : body.length === 0;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Polls `probe` every POLL_INTERVAL_MS until `done` accepts its value, and returns that value.
 * Past the deadline it fails with the last value seen.
 */
export async function pollUntil<T>(
  description: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = CONVERGE_TIMEOUT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}; last value: ${preview(value)}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 500 ? `${text.slice(0, 500)}...` : text;
}

/** Waits until fan-out of `source` has handed every in-step subscriber everything up to `tail`. */
export function waitForFannedOut(
  api: Api,
  project: string,
  source: string,
  tail: string,
  timeoutMs = CONVERGE_TIMEOUT_MS,
): Promise<FanoutStatusBody> {
  return pollUntil(
    `${source} fanned out to ${tail}`,
    () => api.status(project, source),
    (status) => status.fannedOutOffset === tail && status.targetOffset === tail && status.pendingRepairs === 0,
    timeoutMs,
  );
}

/**
 * Waits until fan-out has pushed `source` up to `tail`, `messages` estuary messages in all, and
 * requires that none came by pull. Call it before reading any estuary: every read first pulls what
 * pushes missed, so afterwards the estuaries' contents say nothing about push. Through the queue,
 * fan-out has moved on once the jobs are sent, so this also waits for their delivery reports.
 */
export async function waitForPushed(
  api: Api,
  project: string,
  source: string,
  tail: string,
  messages: number,
  timeoutMs = CONVERGE_TIMEOUT_MS,
): Promise<FanoutStatusBody> {
  const status = await pollUntil(
    `${source} to push ${messages} messages up to ${tail}`,
    () => api.status(project, source),
    (value) =>
      value.fannedOutOffset === tail && value.targetOffset === tail && value.pendingRepairs === 0 && value.cost.messagesDelivered >= messages,
    timeoutMs,
  );
  expect(status.cost.messagesDelivered, `messages pushed from ${source}`).toBe(messages);
  expect(status.cost.messagesPulled, `messages pulled from ${source}`).toBe(0);
  return status;
}

/** How far an estuary holds `source`, from its description, which (unlike a read) pulls nothing. */
export async function deliveredOffset(api: Api, project: string, estuary: string, source: string): Promise<string> {
  const response = await api.estuary(project, estuary);
  const text = await response.text();
  expect(response.status, `GET /v1/estuary/${project}/${estuary}: ${text}`).toBe(200);
  const { subscriptions } = JSON.parse(text) as EstuaryBody;
  const subscription = subscriptions.find((entry) => entry.source === `/v1/stream/${project}/${source}`);
  if (!subscription) throw new Error(`${estuary} is not subscribed to ${source}: ${text}`);
  return subscription.deliveredOffset;
}

export interface Tally {
  /** Estuaries whose messages equal the expected sequence exactly. */
  exact: number;
  duplicates: number;
  missing: number;
  /** Messages present that were never expected, or expected ones out of order. */
  unexpected: number;
}

/** Compares one estuary's messages with the expected sequence (messages are unique by value). */
export function compareMessages(expected: readonly unknown[], actual: readonly unknown[]): Omit<Tally, "exact"> {
  const keys = expected.map((message) => JSON.stringify(message));
  const counts = new Map<string, number>();
  for (const message of actual) {
    const key = JSON.stringify(message);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let duplicates = 0;
  let missing = 0;
  for (const key of keys) {
    const seen = counts.get(key) ?? 0;
    if (seen === 0) missing++;
    else duplicates += seen - 1;
  }
  const known = new Set(keys);
  let unexpected = actual.filter((message) => !known.has(JSON.stringify(message))).length;
  if (duplicates === 0 && missing === 0 && unexpected === 0 && JSON.stringify(actual) !== JSON.stringify(expected)) {
    unexpected = 1;
  }
  return { duplicates, missing, unexpected };
}

/**
 * Waits until every estuary holds exactly `expected`, re-reading only those not yet there, and
 * returns the tally of the last reading of each.
 */
export async function waitForEstuaries(
  api: Api,
  project: string,
  estuaries: readonly string[],
  expected: readonly unknown[],
  timeoutMs = CONVERGE_TIMEOUT_MS,
): Promise<Tally> {
  const last = new Map<string, Omit<Tally, "exact">>();
  let pending = [...estuaries];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const readings = await mapLimit(pending, 20, async (estuary) => {
      const tally = compareMessages(expected, await api.readJson(project, estuary));
      last.set(estuary, tally);
      return { estuary, exact: tally.duplicates + tally.missing + tally.unexpected === 0 };
    });
    pending = readings.filter((reading) => !reading.exact).map((reading) => reading.estuary);
    // Anything beyond the expected messages can never go away again: stop waiting at once.
    const overshoot = [...last.values()].some((tally) => tally.duplicates > 0 || tally.unexpected > 0);
    if (pending.length === 0 || overshoot || Date.now() >= deadline) break;
    await sleep(POLL_INTERVAL_MS);
  }
  const tally: Tally = { exact: 0, duplicates: 0, missing: 0, unexpected: 0 };
  for (const reading of last.values()) {
    tally.duplicates += reading.duplicates;
    tally.missing += reading.missing;
    tally.unexpected += reading.unexpected;
    if (reading.duplicates + reading.missing + reading.unexpected === 0) tally.exact++;
  }
  return tally;
}
