// A data sink's position for its source's commit policy belongs to one creation of the sink: a report
// still in flight from a sink that was deleted and created again under the same id must not raise the
// new sink's position (which would say Stream-Committed: true for data the new sink never sent).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fanoutStub } from "../../src/fanout/stub";

describe("a sink's position for the commit policy", () => {
  it("moves only with reports from the sink's current creation", async () => {
    const source = `default/sink-positions-${crypto.randomUUID()}`;
    const fanout = fanoutStub(env, source);
    await fanout.sinkAdded({ sinkId: "warehouse", incarnation: "first", required: true, position: 0 });
    await fanout.sinkDelivered({ sinkId: "warehouse", incarnation: "first", required: true, position: 40 });
    expect((await fanout.commitState(100)).committedPosition).toBe(40);

    // Deleted and created again, starting from 10: the first creation's late report says nothing of it.
    await fanout.sinkRemoved("warehouse");
    await fanout.sinkAdded({ sinkId: "warehouse", incarnation: "second", required: true, position: 10 });
    await fanout.sinkDelivered({ sinkId: "warehouse", incarnation: "first", required: true, position: 90 });
    expect((await fanout.commitState(100)).committedPosition).toBe(10);

    await fanout.sinkDelivered({ sinkId: "warehouse", incarnation: "second", required: true, position: 60 });
    expect((await fanout.commitState(100)).committedPosition).toBe(60);
  });

  it("never brings back a removed sink", async () => {
    const source = `default/sink-positions-${crypto.randomUUID()}`;
    const fanout = fanoutStub(env, source);
    await fanout.sinkAdded({ sinkId: "gone", incarnation: "only", required: true, position: 0 });
    await fanout.sinkRemoved("gone");
    await fanout.sinkDelivered({ sinkId: "gone", incarnation: "only", required: true, position: 5 });
    expect((await fanout.commitState(100)).committedPosition).toBe(100);
  });
});
