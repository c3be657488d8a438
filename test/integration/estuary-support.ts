// Helpers for estuary tests in the Workers runtime: set-up, reads, waiting, and fault injection.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { fanoutStub } from "../../src/fanout/stub";
import { streamStub } from "../../src/stream/stub";
import type { Delivery } from "../../src/contract/fanout";
import type { StreamSubscribersDO } from "../../src/fanout/subscribers-do";
import type { EstuaryDescription } from "../../src/estuary/description";
import type { FanoutStatusBody } from "../../src/routes/estuary/schemas";
import type { Outbox } from "../../src/storage/outbox";
import type { StreamDO } from "../../src/stream/stream-do";
import { call } from "./worker";

const json = { "Content-Type": "application/json" };

export async function createSource(project: string, source: string): Promise<void> {
  expect((await call(`/v1/stream/${project}/${source}`, { method: "PUT", headers: json })).status).toBe(201);
}

export async function subscribe(project: string, source: string, estuaryId: string, from?: string): Promise<number> {
  const response = await call(`/v1/estuary/subscribe/${project}/${source}`, {
    method: "POST",
    headers: json,
    body: JSON.stringify(from === undefined ? { estuaryId } : { estuaryId, from }),
  });
  return response.status;
}

export async function publish(project: string, source: string, messages: unknown[]): Promise<void> {
  const response = await call(`/v1/stream/${project}/${source}`, {
    method: "POST",
    headers: json,
    body: JSON.stringify(messages),
  });
  expect(response.status).toBe(204);
}

export async function readJson(project: string, stream: string): Promise<unknown[]> {
  const response = await call(`/v1/stream/${project}/${stream}?offset=-1`);
  expect(response.status).toBe(200);
  return response.json<unknown[]>();
}

/** A stream's tail offset. A HEAD of a source (no estuary) pulls nothing. */
export async function tailOf(project: string, stream: string): Promise<string> {
  const response = await call(`/v1/stream/${project}/${stream}`, { method: "HEAD" });
  expect(response.status).toBe(200);
  const tail = response.headers.get("Stream-Next-Offset");
  expect(tail).not.toBeNull();
  return tail as string;
}

/** The source's fan-out status route. Reading it touches no estuary. */
export async function fanoutStatus(project: string, source: string): Promise<FanoutStatusBody> {
  const response = await call(`/v1/estuary/subscribers/${project}/${source}`);
  expect(response.status).toBe(200);
  return response.json<FanoutStatusBody>();
}

async function expectSettled(project: string, source: string): Promise<FanoutStatusBody> {
  const tail = await tailOf(project, source);
  const status = await fanoutStatus(project, source);
  expect(status.targetOffset).toBe(tail);
  expect(status.fannedOutOffset).toBe(tail);
  expect(status.pendingRepairs).toBe(0);
  return status;
}

/**
 * Waits until fan-out has handed on the source's whole tail, with no repair pending. Compared with
 * the source's own tail, since a publish reaches the subscribers object after the append answers.
 */
export async function settled(project: string, source: string): Promise<FanoutStatusBody> {
  let last: FanoutStatusBody | undefined;
  await eventually(async () => {
    last = await expectSettled(project, source);
  });
  return last as FanoutStatusBody;
}

/**
 * Waits until fan-out has pushed the source's whole tail, `messages` estuary messages in all, and
 * requires that none came by pull. Call it before reading any estuary: every read first pulls what
 * pushes missed, so afterwards the estuaries' contents say nothing about push.
 */
export async function pushedAll(project: string, source: string, messages: number): Promise<FanoutStatusBody> {
  let last: FanoutStatusBody | undefined;
  await eventually(async () => {
    last = await expectSettled(project, source);
    expect(last.cost.messagesDelivered).toBeGreaterThanOrEqual(messages);
  });
  const status = last as FanoutStatusBody;
  expect(status.cost.messagesDelivered).toBe(messages);
  expect(status.cost.messagesPulled).toBe(0);
  return status;
}

/** How far an estuary holds `source`, from its description, which (unlike a read) pulls nothing. */
export async function deliveredOffset(project: string, estuaryId: string, source: string): Promise<string> {
  const response = await call(`/v1/estuary/${project}/${estuaryId}`);
  expect(response.status).toBe(200);
  const { subscriptions } = await response.json<EstuaryDescription>();
  const subscription = subscriptions.find((entry) => entry.source === `/v1/stream/${project}/${source}`);
  expect(subscription, `${estuaryId} subscribed to ${source}`).toBeDefined();
  return (subscription as EstuaryDescription["subscriptions"][number]).deliveredOffset;
}

/** Polls until `check` stops throwing, or fails with its last error after `timeoutMs`. */
export async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  // Counts attempts rather than reading the clock, so it also works while Date is faked.
  for (let attempt = 0; ; attempt++) {
    try {
      await check();
      return;
    } catch (error) {
      if (attempt * POLL_MS > timeoutMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}

const POLL_MS = 20;

/**
 * A queue job reading a JSON source from its start up to its tail, for estuaries attached to it
 * directly (not through the subscribers object), so only the queue consumer delivers to them.
 */
export async function queueJobForDirectEstuaries(project: string, source: string, estuaryIds: string[]) {
  for (const id of estuaryIds) {
    const attached = await estuaryObject(project, id).attachSource({
      source: `${project}/${source}`,
      contentType: "application/json",
      position: 0,
      name: `${project}/${id}`,
      ttlSeconds: 3600,
      maxSources: 10,
    });
    expect(attached.ok).toBe(true);
  }
  const head = await call(`/v1/stream/${project}/${source}`, { method: "HEAD" });
  const tail = Number(head.headers.get("Stream-Next-Offset")?.split("_")[1]);
  return { source: `${project}/${source}`, from: 0, to: tail, estuaries: estuaryIds.map((id) => `${project}/${id}`) };
}

export function estuaryObject(project: string, estuaryId: string): DurableObjectStub<StreamDO> {
  return streamStub(env, `${project}/${estuaryId}`);
}

export function subscribersObject(project: string, source: string) {
  return fanoutStub(env, `${project}/${source}`);
}

export interface Fault {
  /** How many deliveries were refused so far. */
  readonly refused: number;
  /** Restores normal delivery. */
  heal(): void;
}

/**
 * Makes `deliver` on the given estuaries throw (or hang), as a failing downstream would, until
 * healed or `times` failures. Patches the class the runtime really uses, found through a live instance.
 */
export async function failDeliveries(
  targets: DurableObjectStub<StreamDO>[],
  options: { times?: number; hang?: boolean } = {},
): Promise<Fault> {
  const times = options.times ?? Infinity;
  const instances = new WeakSet<StreamDO>();
  let prototype: StreamDO | undefined;
  for (const target of targets) {
    await runInDurableObject(target, (instance: StreamDO) => {
      instances.add(instance);
      prototype = Object.getPrototypeOf(instance) as StreamDO;
    });
  }
  if (!prototype) throw new Error("no estuary to fail");
  const patched = prototype;
  const original = patched.deliver;
  let refused = 0;
  let healed = false;
  patched.deliver = async function (this: StreamDO, input: Delivery) {
    if (!healed && instances.has(this) && refused < times) {
      refused++;
      if (options.hang) return new Promise<never>(() => undefined);
      throw new Error("injected delivery failure");
    }
    return original.call(this, input);
  };
  return {
    get refused() {
      return refused;
    },
    heal() {
      healed = true;
      patched.deliver = original;
    },
  };
}

/** The outbox (storage/outbox.ts) both object classes keep for calls to other objects. */
interface WithOutbox {
  outbox: Outbox<{ kind: string }>;
}

type OutboxOwner = StreamDO | StreamSubscribersDO;

/** Calls waiting in an object's outbox (made, or to be retried, by its alarm). */
export function pendingCalls<O extends OutboxOwner>(stub: DurableObjectStub<O>): Promise<number> {
  return runInDurableObject(stub, (instance: O) => (instance as unknown as WithOutbox).outbox.pending());
}

/** Calls of one kind waiting in an object's outbox (a new stream also has its registry call waiting). */
export function pendingCallsOf<O extends OutboxOwner>(stub: DurableObjectStub<O>, kind: string): Promise<number> {
  return runInDurableObject(stub, (_instance: O, state: DurableObjectState) => {
    const rows = state.storage.sql.exec<{ call: string }>("SELECT call FROM outbox").toArray();
    return rows.filter((row) => (JSON.parse(row.call) as { kind: string }).kind === kind).length;
  });
}

export interface OutboxFault {
  /** Calls of the failed kind the outbox tried to make, failed or not. */
  readonly attempts: number;
  /** How many of those were made to fail. */
  readonly refused: number;
  /** Lets every later call through. */
  heal(): void;
}

/**
 * Makes the object's outbox calls of one kind throw, as a failing peer would, until healed or
 * `times` failures; later calls go through to the real peer. Other kinds are not touched.
 */
export async function failOutboxCalls<O extends OutboxOwner>(
  stub: DurableObjectStub<O>,
  kind: string,
  options: { times?: number } = {},
): Promise<OutboxFault> {
  const times = options.times ?? Infinity;
  let attempts = 0;
  let refused = 0;
  let healed = false;
  await runInDurableObject(stub, (instance: O) => {
    const { outbox } = instance as unknown as WithOutbox;
    const original = outbox.send;
    outbox.send = async (call) => {
      if (call.kind !== kind) return original(call);
      attempts++;
      if (!healed && refused < times) {
        refused++;
        throw new Error(`injected ${kind} failure`);
      }
      return original(call);
    };
  });
  return {
    get attempts() {
      return attempts;
    },
    get refused() {
      return refused;
    },
    heal() {
      healed = true;
    },
  };
}
