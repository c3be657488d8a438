// planAppend: what an append does before anything is written (content type, closing, producers, Stream-Seq).
import { describe, expect, it } from "vitest";
import type { AppendCommand } from "../../src/stream/commands";
import { planAppend } from "../../src/stream/append";
import { formatOffset } from "../../src/protocol/offsets";
import type { ProducerState } from "../../src/stream/producer";
import type { StreamMeta } from "../../src/stream/repository";

const encoder = new TextEncoder();

function meta(overrides: Partial<StreamMeta> = {}): StreamMeta {
  return {
    generation: 1,
    status: "active",
    name: "default/s",
    contentType: "text/plain",
    ttlSeconds: null,
    expiresAt: null,
    lastAccess: 0,
    tail: 42,
    closed: false,
    closedBy: null,
    lastStreamSeq: null,
    forkSource: null,
    forkPosition: null,
    forkSubOffset: null,
    estuary: false,
    fanout: false,
    public: false,
    retention: null,
    retentionDefault: false,
    earliest: 0,
    ...overrides,
  };
}

function append(overrides: Partial<AppendCommand> = {}): AppendCommand {
  return { contentType: "text/plain", body: encoder.encode("hello"), close: false, ...overrides };
}

const noProducers = (): ProducerState | undefined => undefined;
const producerAt = (lastSeq: number) => (): ProducerState => ({ epoch: 0, lastSeq });

function messagesOf(plan: ReturnType<typeof planAppend>): string[] | string {
  if (!plan.ok) return plan.code;
  return plan.kind === "write" ? plan.messages.map((message) => new TextDecoder().decode(message)) : plan.kind;
}

describe("planAppend content rules", () => {
  it("writes a byte-mode body as one message", () => {
    expect(messagesOf(planAppend(meta(), append(), noProducers))).toEqual(["hello"]);
  });

  it("rejects an empty body that does not close the stream", () => {
    expect(planAppend(meta(), append({ body: new Uint8Array(0) }), noProducers)).toMatchObject({ code: "bad_request" });
  });

  it("requires a Content-Type when there is a body", () => {
    expect(planAppend(meta(), append({ contentType: undefined }), noProducers)).toMatchObject({ code: "bad_request" });
  });

  it("answers 409 when the Content-Type differs from the stream's", () => {
    expect(planAppend(meta(), append({ contentType: "application/json" }), noProducers)).toMatchObject({
      code: "conflict",
    });
  });

  it("compares media types ignoring case and parameters", () => {
    const plan = planAppend(meta(), append({ contentType: "Text/Plain; charset=utf-8" }), noProducers);
    expect(messagesOf(plan)).toEqual(["hello"]);
  });

  it("splits a JSON array into messages and rejects invalid or empty JSON", () => {
    const json = meta({ contentType: "application/json" });
    const body = (text: string) => append({ contentType: "application/json", body: encoder.encode(text) });
    expect(messagesOf(planAppend(json, body('[{"a":1}, 2]'), noProducers))).toEqual(['{"a":1}', "2"]);
    expect(messagesOf(planAppend(json, body("{oops"), noProducers))).toBe("bad_request");
    expect(messagesOf(planAppend(json, body("[]"), noProducers))).toBe("bad_request");
  });

  it("lets a close-only request through with nothing to write", () => {
    expect(messagesOf(planAppend(meta(), append({ body: new Uint8Array(0), close: true }), noProducers))).toEqual([]);
  });
});

describe("planAppend on a closed stream", () => {
  const closed = meta({ closed: true });

  it("answers 409 with Stream-Closed and the tail offset to a data append", () => {
    expect(planAppend(closed, append(), noProducers)).toEqual({
      ok: false,
      code: "conflict",
      message: expect.any(String),
      headers: { "Stream-Closed": "true", "Stream-Next-Offset": formatOffset(42) },
    });
  });

  it("treats closing again without a body as a no-op", () => {
    expect(planAppend(closed, append({ body: new Uint8Array(0), close: true }), noProducers)).toEqual({
      ok: true,
      kind: "noop",
    });
  });

  it("refuses a closing append that carries data", () => {
    expect(planAppend(closed, append({ close: true }), noProducers)).toMatchObject({ code: "conflict" });
  });

  it("answers a retried producer request as a duplicate instead of a conflict", () => {
    const retry = append({ producer: { id: "p", epoch: 0, seq: 3 } });
    expect(planAppend(closed, retry, producerAt(3))).toEqual({ ok: true, kind: "duplicate", producer: { epoch: 0, seq: 3 } });
  });

  it("refuses a new producer seq with the closed conflict", () => {
    const next = append({ producer: { id: "p", epoch: 0, seq: 4 } });
    expect(planAppend(closed, next, producerAt(3))).toMatchObject({ code: "conflict", headers: { "Stream-Closed": "true" } });
  });
});

describe("planAppend producers and Stream-Seq", () => {
  const sequenced = meta({ lastStreamSeq: "0005" });

  it("echoes the producer's epoch and seq on a write", () => {
    const plan = planAppend(meta(), append({ producer: { id: "p", epoch: 0, seq: 4 } }), producerAt(3));
    expect(plan).toMatchObject({ ok: true, kind: "write", producer: { epoch: 0, seq: 4 } });
  });

  it("passes producer failures through", () => {
    const gap = planAppend(meta(), append({ producer: { id: "p", epoch: 0, seq: 9 } }), producerAt(3));
    expect(gap).toMatchObject({ code: "conflict", headers: { "Producer-Expected-Seq": "4" } });
  });

  it("detects a producer duplicate before checking Stream-Seq", () => {
    const retry = append({ streamSeq: "0005", producer: { id: "p", epoch: 0, seq: 3 } });
    expect(planAppend(sequenced, retry, producerAt(3))).toMatchObject({ ok: true, kind: "duplicate" });
  });

  it("answers 409 to a Stream-Seq that is not greater than the last one", () => {
    expect(planAppend(sequenced, append({ streamSeq: "0005" }), noProducers)).toMatchObject({ code: "conflict" });
    expect(planAppend(sequenced, append({ streamSeq: "0004" }), noProducers)).toMatchObject({ code: "conflict" });
  });

  it("orders Stream-Seq values as strings", () => {
    expect(planAppend(sequenced, append({ streamSeq: "0006" }), noProducers)).toMatchObject({ ok: true, kind: "write" });
    expect(planAppend(meta({ lastStreamSeq: "9" }), append({ streamSeq: "10" }), noProducers)).toMatchObject({
      code: "conflict",
    });
  });

  it("accepts any Stream-Seq on a stream that has none yet", () => {
    expect(planAppend(meta(), append({ streamSeq: "a" }), noProducers)).toMatchObject({ ok: true, kind: "write" });
  });
});
