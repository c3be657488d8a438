// A long-poll whose client goes away leaves its stream's connection count at once and stops
// holding the stream's TTL: the runtime aborts the request's signal when its client disconnects
// (compatibility flag enable_request_signal), which the test does by aborting the fetch.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { eventually } from "./estuary-support";
import { call } from "./worker";

/** The read's own timeout here: a minute, so only the departure can end the wait within the test. */
const READ_TIMEOUT_MS = 60_000;
/** A departure must show within this. */
const DROP_WITHIN_MS = 2_000;

const json = { "Content-Type": "application/json" };

async function longPolls(path: string): Promise<number> {
  const response = await call(`/v1/connections/${path}`);
  expect(response.status).toBe(200);
  return (await response.json<{ longPoll: number }>()).longPoll;
}

/** Starts a long-poll at the tail; settles with the Response, or the error an abort rejects it with. */
function longPoll(path: string, signal: AbortSignal): Promise<unknown> {
  const request = new Request(`https://streams.test/v1/stream/${path}?offset=now&live=long-poll`, { signal });
  const slowEnv = { ...env, LONG_POLL_TIMEOUT_MS: String(READ_TIMEOUT_MS) };
  return Promise.resolve(buildApp().fetch(request, slowEnv, createExecutionContext())).catch((error: unknown) => error);
}

describe("a long-poll whose client goes away", () => {
  it("leaves the connection count long before its timeout, while the others keep waiting", async () => {
    const path = "default/departed-long-poll";
    expect((await call(`/v1/stream/${path}`, { method: "PUT", headers: json })).status).toBe(201);
    const leaving = new AbortController();
    const staying = new AbortController();
    const left = longPoll(path, leaving.signal);
    const stayed = longPoll(path, staying.signal);
    await eventually(async () => expect(await longPolls(path)).toBe(2));

    leaving.abort();
    await left;
    await eventually(async () => expect(await longPolls(path)).toBe(1), DROP_WITHIN_MS);
    await call(`/v1/stream/${path}`, { method: "POST", headers: json, body: JSON.stringify([{ n: 1 }]) });
    const response = await stayed;
    expect(response).toBeInstanceOf(Response);
    expect(await (response as Response).json()).toEqual([{ n: 1 }]);
  });
});
