// Idempotent producer decisions (protocol §5.2.1): accept, duplicate, stale epoch, new epoch, gaps.
import { describe, expect, it } from "vitest";
import { statusOf } from "../../src/errors";
import { decideProducer } from "../../src/stream/producer";

const known = { epoch: 2, lastSeq: 5 };

describe("decideProducer", () => {
  it("accepts seq 0 from a producer it has never seen", () => {
    expect(decideProducer(undefined, { id: "p", epoch: 0, seq: 0 })).toEqual({ kind: "accept", epoch: 0, seq: 0 });
  });

  it("answers 409 with expected seq 0 when an unknown producer starts above 0", () => {
    const decision = decideProducer(undefined, { id: "p", epoch: 0, seq: 3 });
    expect(decision).toEqual({
      ok: false,
      code: "conflict",
      message: expect.any(String),
      headers: { "Producer-Expected-Seq": "0", "Producer-Received-Seq": "3" },
    });
  });

  it("accepts the next seq in the current epoch", () => {
    expect(decideProducer(known, { id: "p", epoch: 2, seq: 6 })).toEqual({ kind: "accept", epoch: 2, seq: 6 });
  });

  it("reports a retried seq as a duplicate carrying the highest seq applied", () => {
    expect(decideProducer(known, { id: "p", epoch: 2, seq: 5 })).toEqual({ kind: "duplicate", epoch: 2, highestSeq: 5 });
    expect(decideProducer(known, { id: "p", epoch: 2, seq: 1 })).toEqual({ kind: "duplicate", epoch: 2, highestSeq: 5 });
  });

  it("answers 409 with expected and received seq when a seq is skipped", () => {
    const decision = decideProducer(known, { id: "p", epoch: 2, seq: 8 });
    expect(decision).toEqual({
      ok: false,
      code: "conflict",
      message: expect.any(String),
      headers: { "Producer-Expected-Seq": "6", "Producer-Received-Seq": "8" },
    });
    if ("code" in decision) expect(statusOf(decision.code)).toBe(409);
  });

  it("fences a stale epoch with 403 and the current epoch in Producer-Epoch", () => {
    const decision = decideProducer(known, { id: "p", epoch: 1, seq: 6 });
    expect(decision).toEqual({
      ok: false,
      code: "forbidden",
      message: expect.any(String),
      headers: { "Producer-Epoch": "2" },
    });
    if ("code" in decision) expect(statusOf(decision.code)).toBe(403);
  });

  it("accepts a new epoch starting at seq 0", () => {
    expect(decideProducer(known, { id: "p", epoch: 3, seq: 0 })).toEqual({ kind: "accept", epoch: 3, seq: 0 });
  });

  it("rejects a new epoch that does not start at seq 0 with 400", () => {
    const decision = decideProducer(known, { id: "p", epoch: 3, seq: 1 });
    expect(decision).toEqual({ ok: false, code: "bad_request", message: expect.any(String) });
  });
});
