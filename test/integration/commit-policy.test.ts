// The commit policy in the Workers runtime: a source's committed offset under `required`, `quorum`
// and `all`, with healthy and failing sinks (stand-in receivers) and estuaries, and appends that wait
// for it with Stream-Await-Commit.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sinkObjectName } from "../../src/contract/sinks";
import { sinkStub } from "../../src/sinks/stub";
import { formatOffset } from "../../src/protocol/offsets";
import type { FanoutStatusBody } from "../../src/routes/estuary/schemas";
import type { SinkDO } from "../../src/sinks/sink-do";
import { deliveredOffset, estuaryObject, eventually, failDeliveries } from "./estuary-support";
import { call, expectError } from "./worker";

const json = { "Content-Type": "application/json" };
const healthy = async () => new Response(null, { status: 200 });
const failing = async () => new Response(null, { status: 500 });

interface Setup {
  sinks?: { id: string; required: boolean; answer: () => Promise<Response> }[];
  estuaries?: { id: string; required: boolean }[];
}

/** A source with the given sinks (stand-in receivers) and estuaries. */
async function source(stream: string, setup: Setup): Promise<void> {
  expect((await call(`/v1/stream/${stream}`, { method: "PUT", headers: json })).status).toBe(201);
  for (const sink of setup.sinks ?? []) {
    await runInDurableObject(sinkStub(env, sinkObjectName(`default/${stream}`, sink.id)), (instance: SinkDO) => {
      instance.fetcher = sink.answer;
    });
    const body = { sink: { id: sink.id, url: "https://receiver.example/hook" }, required: sink.required };
    expect((await post(`/v1/estuary/subscribe/${stream}`, body)).status).toBe(201);
  }
  for (const estuary of setup.estuaries ?? []) {
    expect((await post(`/v1/estuary/subscribe/${stream}`, { estuaryId: estuary.id, required: estuary.required })).status).toBe(201);
  }
}

function post(path: string, body: unknown): Promise<Response> {
  return call(path, { method: "POST", headers: json, body: JSON.stringify(body) });
}

async function setPolicy(stream: string, policy: unknown): Promise<Response> {
  return call(`/v1/estuary/policy/${stream}`, { method: "PUT", headers: json, body: JSON.stringify(policy) });
}

/** Appends one message, waiting up to `waitMs` for it to be committed; answers Stream-Committed and the new tail. */
async function append(stream: string, waitMs: number): Promise<{ committed: string | null; tail: string }> {
  const response = await call(`/v1/stream/${stream}`, {
    method: "POST",
    headers: { ...json, "Stream-Await-Commit": String(waitMs) },
    body: JSON.stringify([{ at: Date.now() }]),
  });
  expect(response.status).toBe(204);
  return { committed: response.headers.get("Stream-Committed"), tail: response.headers.get("Stream-Next-Offset") ?? "" };
}

async function status(stream: string): Promise<FanoutStatusBody> {
  const response = await call(`/v1/estuary/subscribers/${stream}`);
  expect(response.status).toBe(200);
  return response.json();
}

describe("commit policy", () => {
  it("required (the default): a failing optional sink does not hold the offset, a failing required sink does", async () => {
    await source("commit-req", {
      sinks: [
        { id: "warehouse", required: true, answer: healthy },
        { id: "cache", required: false, answer: failing },
      ],
      estuaries: [{ id: "commit-req-feed", required: true }],
    });
    const first = await append("commit-req", 10_000);
    expect(first.committed).toBe("true");
    expect((await status("commit-req")).committedOffset).toBe(first.tail);

    await source("commit-req2", { sinks: [{ id: "warehouse", required: true, answer: failing }] });
    const held = await append("commit-req2", 300);
    expect(held.committed).toBe("false");
    const after = await status("commit-req2");
    expect(after.policy).toEqual({ mode: "required" });
    expect(after.committedOffset < held.tail).toBe(true);
    // Once the receiver recovers, the sink's next attempt commits the data.
    await runInDurableObject(sinkStub(env, sinkObjectName("default/commit-req2", "warehouse")), (instance: SinkDO) => {
      instance.fetcher = healthy;
    });
    await eventually(async () => expect((await status("commit-req2")).committedOffset).toBe(held.tail), 15_000);
  });

  it("quorum n: any n subscriptions suffice, whichever fail", async () => {
    await source("commit-q", {
      sinks: [
        { id: "a", required: true, answer: healthy },
        { id: "b", required: true, answer: failing },
      ],
      estuaries: [{ id: "commit-q-feed", required: true }],
    });
    const set = await setPolicy("commit-q", { mode: "quorum", quorum: 2 });
    expect(set.status).toBe(200);
    expect((await set.json<{ policy: unknown }>()).policy).toEqual({ mode: "quorum", quorum: 2 });
    expect((await append("commit-q", 10_000)).committed).toBe("true");

    expect((await setPolicy("commit-q", { mode: "quorum", quorum: 3 })).status).toBe(200);
    expect((await append("commit-q", 300)).committed).toBe("false");
  });

  it("all: every subscription counts, a failing optional one included", async () => {
    await source("commit-all", {
      sinks: [
        { id: "a", required: true, answer: healthy },
        { id: "optional", required: false, answer: failing },
      ],
    });
    expect((await append("commit-all", 10_000)).committed).toBe("true"); // under `required`
    expect((await setPolicy("commit-all", { mode: "all" })).status).toBe(200);
    const held = await append("commit-all", 300);
    expect(held.committed).toBe("false");
    expect((await status("commit-all")).committedOffset < held.tail).toBe(true);
  });

  it("an estuary that is not required does not hold the offset; a required one that fails does", async () => {
    await source("commit-est", { estuaries: [{ id: "commit-est-opt", required: false }, { id: "commit-est-req", required: true }] });
    const fault = await failDeliveries([estuaryObject("default", "commit-est-req")]);
    const held = await append("commit-est", 300);
    expect(held.committed).toBe("false");
    fault.heal();
    await eventually(async () => expect((await status("commit-est")).committedOffset).toBe(held.tail), 15_000);
    expect((await append("commit-est", 10_000)).committed).toBe("true");
  });

  it("an optional estuary that fails holds nothing back under `required`, and holds the offset under `all`", async () => {
    // Two healthy estuaries beside the failing one: the test below covers one failing of two.
    const estuaries = [
      { id: "commit-opt-opt", required: false },
      { id: "commit-opt-a", required: true },
      { id: "commit-opt-b", required: true },
    ];
    await source("commit-opt", { estuaries });
    const fault = await failDeliveries([estuaryObject("default", "commit-opt-opt")]);
    expect((await append("commit-opt", 3_000)).committed).toBe("true");
    // The optional estuary really was failed, and holds nothing of the source.
    expect(fault.refused).toBeGreaterThan(0);
    expect(await deliveredOffset("default", "commit-opt-opt", "commit-opt")).toBe(formatOffset(0));
    // The same setup under `all` counts the optional estuary, so the offset waits for it.
    expect((await setPolicy("commit-opt", { mode: "all" })).status).toBe(200);
    const held = await append("commit-opt", 300);
    expect(held.committed).toBe("false");
    expect((await status("commit-opt")).committedOffset < held.tail).toBe(true);
    fault.heal();
  });

  it("one failing estuary of two is repaired on its own: the healthy required one commits, nothing trips the breaker", async () => {
    await source("commit-pair", { estuaries: [{ id: "commit-pair-opt", required: false }, { id: "commit-pair-req", required: true }] });
    const fault = await failDeliveries([estuaryObject("default", "commit-pair-opt")]);
    const appended = await append("commit-pair", 3_000);
    expect(appended.committed).toBe("true");
    expect(fault.refused).toBeGreaterThan(0);
    const after = await status("commit-pair");
    expect(after.breaker).toBe("closed");
    expect(after.fannedOutOffset).toBe(appended.tail);
    fault.heal();
  });

  it("a stream without subscriptions commits at once; appends without the header never wait", async () => {
    await source("commit-none", {});
    const waited = await append("commit-none", 5_000);
    expect(waited.committed).toBe("true");
    const plain = await call("/v1/stream/commit-none", { method: "POST", headers: json, body: "[1]" });
    expect(plain.status).toBe(204);
    expect(plain.headers.get("Stream-Committed")).toBeNull();
    expect((await status("commit-none")).committedOffset).toBe(formatOffset(Number(plain.headers.get("Stream-Next-Offset")?.split("_")[1])));
  });

  it("refuses bad policies and bad Stream-Await-Commit values with a JSON 400", async () => {
    await source("commit-bad", {});
    for (const policy of [{ mode: "most" }, { mode: "quorum" }, { mode: "all", quorum: 2 }, { mode: "quorum", quorum: 0 }, {}]) {
      await expectError(await setPolicy("commit-bad", policy), 400, "bad_request");
    }
    await expectError(await setPolicy("commit-missing", { mode: "all" }), 404, "not_found");
    for (const value of ["soon", "-1", "30001", "01", "1.5"]) {
      const response = await call("/v1/stream/commit-bad", { method: "POST", headers: { ...json, "Stream-Await-Commit": value }, body: "[1]" });
      await expectError(response, 400, "bad_request");
    }
  });
});
