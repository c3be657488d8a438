// Retention on an estuary: trimming the rows a source's deliveries were tagged on keeps how far
// that source was applied, so a restart neither rewinds the status nor lets a redelivery in twice.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { StreamDO } from "../../src/stream/stream-do";
import { logOf } from "./cold-support";
import { createSource, deliveredOffset, estuaryObject, eventually, publish, subscribe, tailOf } from "./estuary-support";
import { storedRows, trimFully } from "./retention-support";
import { restart } from "./worker";

const P = "retention-estuary";

describe("an estuary whose delivered rows are trimmed", () => {
  it("keeps each source's applied position across a restart", async () => {
    await createSource(P, "src");
    await createSource(P, "other");
    expect(await subscribe(P, "src", "inbox")).toBe(201);
    expect(await subscribe(P, "other", "inbox")).toBe(201);
    const inbox = estuaryObject(P, "inbox");
    // A tighter policy than the estuary default, so three deliveries are enough to trim.
    await runInDurableObject(inbox, (instance: StreamDO) => logOf(instance).update({ retention: { maxMessages: 1 } }));
    await publish(P, "src", [{ from: "src" }]);
    const srcTail = await tailOf(P, "src");
    await eventually(async () => expect(await deliveredOffset(P, "inbox", "src")).toBe(srcTail));
    for (const n of [1, 2]) await publish(P, "other", [{ from: "other", n }]);
    const otherTail = await tailOf(P, "other");
    await eventually(async () => expect(await deliveredOffset(P, "inbox", "other")).toBe(otherTail));
    await trimFully(inbox);
    expect((await storedRows(inbox)).rows).toBe(1); // src's only row is gone

    const applied = async () => new Map((await inbox.estuarySources())?.map(({ source, applied }) => [source, applied]));
    const before = await applied();
    await restart(inbox);
    expect(await applied()).toEqual(before);
  });
});
