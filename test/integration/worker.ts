// Shared helpers for integration tests: requests through the Worker's fetch handler and the error shape.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { streamStub } from "../../src/stream/stub";
import type { StreamDO } from "../../src/stream/stream-do";

const ORIGIN = "https://streams.test";

/** Sends a request to the Worker under test, as a client would. */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`${ORIGIN}${path}`, init);
}

/** The StreamDO behind a path's key, e.g. "default/orders". */
export function streamObject(key: string): DurableObjectStub<StreamDO> {
  return streamStub(env, key);
}

/** Evicts the object and proves the next request is served by a new instance over the same storage. */
export async function restart(stub: DurableObjectStub<StreamDO>): Promise<void> {
  const before = new WeakSet<StreamDO>();
  await runInDurableObject(stub, (instance) => {
    before.add(instance);
  });
  await evictDurableObject(stub);
  expect(await runInDurableObject(stub, (instance) => before.has(instance))).toBe(false);
}

/** Asserts the project's error response shape and returns the message. */
export async function expectError(response: Response, status: number, code: string): Promise<string> {
  expect(response.status).toBe(status);
  expect(response.headers.get("Content-Type")).toBe("application/json");
  expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
  const body = await response.json<unknown>();
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
  const message = (body as { error: { message: string } }).error.message;
  expect(message).not.toBe("");
  return message;
}
