// An estuary's delivered data and applied positions survive a restart, though a delivery writes only
// its data (one row for its messages, which carries the applied position; the tail is derived on load).
import { describe, expect, it } from "vitest";
import type { DeliveryOutcome } from "../../src/contract/fanout";
import { estuaryObject, readJson } from "./estuary-support";
import { call, restart } from "./worker";

const P = "estuary-restart";
const encoder = new TextEncoder();

async function attach(estuaryId: string, source: string, position: number): Promise<void> {
  const attached = await estuaryObject(P, estuaryId).attachSource({
    source: `${P}/${source}`,
    contentType: "application/json",
    position,
    name: `${P}/${estuaryId}`,
    ttlSeconds: 3600,
    maxSources: 10,
  });
  expect(attached).toMatchObject({ ok: true, attached: true, applied: position });
}

/** Delivers JSON messages as the source's positions [from, to) (sources here are only names). */
function deliver(estuaryId: string, source: string, from: number, to: number, messages: unknown[]): Promise<DeliveryOutcome> {
  return estuaryObject(P, estuaryId).deliver({
    source: `${P}/${source}`,
    from,
    to,
    segments: messages.map((message) => ({ data: encoder.encode(JSON.stringify(message)), messageEnd: true })),
  });
}

async function tailOf(estuaryId: string): Promise<string | null> {
  const head = await call(`/v1/stream/${P}/${estuaryId}`, { method: "HEAD" });
  expect(head.status).toBe(200);
  return head.headers.get("Stream-Next-Offset");
}

describe("an estuary after a restart", () => {
  it("keeps its data, its tail and how far each source was applied", async () => {
    await attach("two-sources", "a", 0);
    await attach("two-sources", "b", 100);
    expect(await deliver("two-sources", "a", 0, 10, [{ a: 1 }, { a: 2 }])).toMatchObject({ status: "applied", messages: 2, rowsWritten: 1 });
    expect(await deliver("two-sources", "b", 100, 130, [{ b: 1 }])).toMatchObject({ status: "applied", messages: 1, rowsWritten: 1 });
    expect(await deliver("two-sources", "a", 10, 20, [{ a: 3 }])).toMatchObject({ status: "applied", rowsWritten: 1 });
    const tail = await tailOf("two-sources");

    await restart(estuaryObject(P, "two-sources"));

    expect(await tailOf("two-sources")).toBe(tail);
    expect(await estuaryObject(P, "two-sources").estuarySources()).toEqual([
      { source: `${P}/a`, applied: 20, envelope: "raw" },
      { source: `${P}/b`, applied: 130, envelope: "raw" },
    ]);
    expect(await deliver("two-sources", "a", 10, 20, [{ a: 3 }])).toMatchObject({ status: "duplicate", applied: 20 });
    expect(await deliver("two-sources", "b", 140, 150, [{ b: 3 }])).toMatchObject({ status: "gap", applied: 130 });
    expect(await deliver("two-sources", "b", 130, 140, [{ b: 2 }])).toMatchObject({ status: "applied" });
    expect(await readJson(P, "two-sources")).toEqual([{ a: 1 }, { a: 2 }, { b: 1 }, { a: 3 }, { b: 2 }]);
  });

  it("starts a re-subscription where it was asked to, not where an earlier subscription got to", async () => {
    await attach("resubscribed", "a", 0);
    expect(await deliver("resubscribed", "a", 0, 50, [{ old: 1 }])).toMatchObject({ status: "applied" });
    await estuaryObject(P, "resubscribed").detachSource(`${P}/a`);
    await attach("resubscribed", "a", 20);

    await restart(estuaryObject(P, "resubscribed"));

    expect(await estuaryObject(P, "resubscribed").estuarySources()).toEqual([{ source: `${P}/a`, applied: 20, envelope: "raw" }]);
    expect(await deliver("resubscribed", "a", 20, 30, [{ again: 1 }])).toMatchObject({ status: "applied" });
    expect(await readJson(P, "resubscribed")).toEqual([{ old: 1 }, { again: 1 }]);
  });

  it("pays one checkpoint row per source every 1,000 deliveries, and restarts from the checkpoint", async () => {
    await attach("many", "a", 0);
    await attach("many", "b", 0);
    let rows = 0;
    for (let n = 0; n < 1_005; n++) {
      const outcome = await deliver("many", "a", n, n + 1, [n]);
      if (outcome.status !== "applied") throw new Error(`delivery ${n}: ${outcome.status}`);
      rows += outcome.rowsWritten;
    }
    // 1,005 data rows, and at the 1,000th delivery one checkpoint row for each of the two sources.
    expect(rows).toBe(1_005 + 2);

    await restart(estuaryObject(P, "many"));

    expect(await estuaryObject(P, "many").estuarySources()).toEqual([
      { source: `${P}/a`, applied: 1_005, envelope: "raw" },
      { source: `${P}/b`, applied: 0, envelope: "raw" },
    ]);
    const all = await readJson(P, "many");
    expect(all).toHaveLength(1_005);
    expect(all.every((value, index) => value === index)).toBe(true);
  });
});
