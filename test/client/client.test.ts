// End-to-end checks of the server through the official @durable-streams/client package.
import {
  DurableStream,
  IdempotentProducer,
  type BackoffOptions,
  type StreamResponse,
} from "@durable-streams/client";
import { describe, expect, inject, test } from "vitest";

const baseUrl = inject("baseUrl");

// The client retries 5xx forever by default; bound it so a broken server
// fails with its real error instead of a test timeout.
const backoffOptions: BackoffOptions = {
  initialDelay: 50,
  maxDelay: 500,
  multiplier: 2,
  maxRetries: 4,
};
const LIVE_WAIT_MS = 8_000;

type LiveMode = "long-poll" | "sse";

function streamUrl(): string {
  return `${baseUrl}/v1/stream/client-${crypto.randomUUID()}`;
}

/** A fetch that records every URL the client requests, to prove which read mode ran. */
function recordingFetch(): { fetch: typeof fetch; urls: URL[] } {
  const urls: URL[] = [];
  const recorder: typeof fetch = (input, init) => {
    urls.push(new URL(input instanceof Request ? input.url : String(input)));
    return fetch(input, init);
  };
  return { fetch: recorder, urls };
}

async function createStream(
  contentType: string,
  fetchImpl?: typeof fetch,
): Promise<DurableStream> {
  const handle = new DurableStream({ url: streamUrl(), contentType, backoffOptions, fetch: fetchImpl });
  return handle.create({ contentType });
}

/** Appends through an idempotent producer and fails on any reported batch error. */
async function produce(handle: DurableStream, messages: readonly string[]): Promise<void> {
  const errors: Error[] = [];
  const producer = new IdempotentProducer(handle, `producer-${crypto.randomUUID()}`, {
    onError: (error) => errors.push(error),
  });
  for (const message of messages) producer.append(message);
  await producer.flush();
  await producer.detach();
  expect(errors).toEqual([]);
}

async function waitFor(description: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + LIVE_WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function tailOffset(handle: DurableStream): Promise<string> {
  const head = await handle.head();
  if (!head.exists || head.offset === undefined) throw new Error("stream has no tail offset");
  return head.offset;
}

/**
 * Opens a live read at the current tail, waits until the client has moved
 * from catch-up into the given live mode, then appends, so the data can only
 * arrive through the live channel.
 */
async function appendWhileLive<T>(
  contentType: string,
  mode: LiveMode,
  before: readonly string[],
  after: readonly string[],
  observe: (session: StreamResponse, seen: T[]) => () => void,
  done: (seen: T[]) => boolean,
): Promise<T[]> {
  const recorder = recordingFetch();
  const handle = await createStream(contentType, recorder.fetch);
  await produce(handle, before);
  const session = await handle.stream({ live: mode, offset: await tailOffset(handle) });
  const seen: T[] = [];
  const unsubscribe = observe(session, seen);
  try {
    await waitFor(`a ${mode} request`, () =>
      recorder.urls.some((url) => url.searchParams.get("live") === mode),
    );
    await produce(handle, after);
    await waitFor("live data", () => done(seen));
    return seen;
  } finally {
    unsubscribe();
    session.cancel();
  }
}

describe("text/plain stream", () => {
  const messages = ["alpha\n", "beta\n", "gamma\n", "delta\n"];

  test("catch-up read returns producer appends in order", async () => {
    const handle = await createStream("text/plain");
    await produce(handle, messages);

    const head = await handle.head();
    expect(head.exists && head.contentType).toMatch(/^text\/plain/);
    const session = await handle.stream({ live: false });
    expect(await session.text()).toBe(messages.join(""));
    expect(session.upToDate).toBe(true);
  });

  test.each<LiveMode>(["long-poll", "sse"])("%s reader sees data appended after it started", async (mode) => {
    const seen = await appendWhileLive<string>(
      "text/plain",
      mode,
      ["old\n"],
      ["new-1\n", "new-2\n"],
      (session, out) => session.subscribeText((chunk) => void out.push(chunk.text)),
      (out) => out.join("").length >= "new-1\nnew-2\n".length,
    );
    expect(seen.join("")).toBe("new-1\nnew-2\n");
  });
});

describe("application/json stream", () => {
  const items = [{ n: 1, text: "one" }, { n: 2, text: "two" }, [3, "three"], "four", 5, null];

  test("catch-up read returns each producer append as one item, in order", async () => {
    const handle = await createStream("application/json");
    await produce(handle, items.map((item) => JSON.stringify(item)));

    const head = await handle.head();
    expect(head.exists && head.contentType).toMatch(/^application\/json/);
    const session = await handle.stream({ live: false });
    expect(await session.json()).toEqual(items);
  });

  test.each<LiveMode>(["long-poll", "sse"])("%s reader sees items appended after it started", async (mode) => {
    const fresh = [{ n: 10 }, { n: 11 }, { n: 12 }];
    const seen = await appendWhileLive<unknown>(
      "application/json",
      mode,
      [JSON.stringify({ n: 0 })],
      fresh.map((item) => JSON.stringify(item)),
      (session, out) => session.subscribeJson((batch) => void out.push(...batch.items)),
      (out) => out.length >= fresh.length,
    );
    expect(seen).toEqual(fresh);
  });
});
