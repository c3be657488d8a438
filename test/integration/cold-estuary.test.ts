// Cold segments under streams that are more than a log: an estuary whose delivered rows move to R2
// still knows how far it applied each source (nothing is delivered twice after a restart), and a
// fork whose own rows move reads its inherited range and its own cold range as one stream.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { catchUp, concat, fill, octets, runAlarms, segmentsOf } from "./cold-support";
import { createSource, deliveredOffset, estuaryObject, eventually, publish, subscribe, subscribersObject, tailOf } from "./estuary-support";
import { call, restart } from "./worker";

const MiB = 1024 * 1024;
const P = "cold-estuary";

/** All messages of a JSON stream, following pages. */
async function allMessages(stream: string): Promise<unknown[]> {
  const pages = await catchUp(`/v1/stream/${P}/${stream}`);
  return pages.flatMap((page) => JSON.parse(new TextDecoder().decode(page.body)) as unknown[]);
}

describe("an estuary with cold segments", () => {
  it("keeps its applied positions when the delivered rows move to R2, so a restart delivers nothing twice", async () => {
    await createSource(P, "src");
    await createSource(P, "other");
    expect(await subscribe(P, "src", "inbox")).toBe(201);
    expect(await subscribe(P, "other", "inbox")).toBe(201);
    const sent: unknown[] = [];
    for (let batch = 0; batch < 30; batch++) {
      const messages = Array.from({ length: 5 }, (_, index) => ({ batch, index, pad: "p".repeat(12_000) }));
      sent.push(...messages);
      await publish(P, "src", messages);
    }
    const sourceTail = await tailOf(P, "src");
    await eventually(async () => expect(await deliveredOffset(P, "inbox", "src")).toBe(sourceTail));
    // The newest rows (which stay hot) are another source's: src's own tags all move to R2.
    for (let i = 0; i < 12; i++) {
      const message = { from: "other", i, pad: "o".repeat(100_000) };
      sent.push(message);
      await publish(P, "other", [message]);
    }
    const otherTail = await tailOf(P, "other");
    await eventually(async () => expect(await deliveredOffset(P, "inbox", "other")).toBe(otherTail));
    await runAlarms(`${P}/inbox`);
    const segments = await segmentsOf(`${P}/inbox`);
    expect(segments.at(-1)?.end).toBeGreaterThan(1_800_000); // every row src delivered is cold

    await restart(estuaryObject(P, "inbox"));
    const sources = await estuaryObject(P, "inbox").estuarySources();
    expect(sources?.map(({ source }) => source)).toEqual([`${P}/other`, `${P}/src`]);
    expect(await deliveredOffset(P, "inbox", "src")).toBe(sourceTail);

    const more = [{ batch: 30, index: 0 }];
    sent.push(...more);
    await publish(P, "src", more);
    const newTail = await tailOf(P, "src");
    await eventually(async () => expect(await deliveredOffset(P, "inbox", "src")).toBe(newTail));
    expect(await allMessages("inbox")).toEqual(sent);
  });
});

describe("a fork with its own cold segments", () => {
  it("reads the source's range and its own cold rows byte-exact", async () => {
    const source = `/v1/stream/${P}/fork-src`;
    expect((await call(source, { method: "PUT", headers: octets })).status).toBe(201);
    const inherited = await fill(source, 2 * MiB, 250_000, 11);
    const fork = `/v1/stream/${P}/fork-own`;
    expect((await call(fork, { method: "PUT", headers: { ...octets, "Stream-Forked-From": source } })).status).toBe(201);
    const own = await fill(fork, 3 * MiB, 250_000, 12);
    await runAlarms(`${P}/fork-own`);
    const segments = await segmentsOf(`${P}/fork-own`);
    expect(segments.length).toBeGreaterThanOrEqual(2);
    expect(segments[0]?.start).toBe(inherited.length);
    expect(concat((await catchUp(fork)).map((page) => page.body))).toEqual(concat([inherited, own]));
  });
});

describe("fan-out from a source with a segment that cannot be read", () => {
  it("keeps the estuary subscribed and backfills it once the segment is back", async () => {
    await createSource(P, "backfill-src");
    const sent: unknown[] = [];
    for (let batch = 0; batch < 60; batch++) {
      const messages = Array.from({ length: 5 }, (_, index) => ({ batch, index, pad: "b".repeat(12_000) }));
      sent.push(...messages);
      await publish(P, "backfill-src", messages);
    }
    await runAlarms(`${P}/backfill-src`);
    // The subscribe backfills the first slice itself (one segment); the rest is the fan-out's.
    const [first, second] = await segmentsOf(`${P}/backfill-src`);
    const stored = await env.COLD_SEGMENTS.get(second?.key ?? "");
    const bytes = await stored!.arrayBuffer();
    await env.COLD_SEGMENTS.delete(second?.key ?? "");

    expect(await subscribe(P, "backfill-src", "backfilled", "-1")).toBe(201);
    await eventually(async () => {
      const status = await (await call(`/v1/estuary/subscribers/${P}/backfill-src`)).json<{ lastError?: { message: string } | null }>();
      expect(status.lastError?.message ?? "").toMatch(/cold segment/);
    });
    expect(await deliveredOffset(P, "backfilled", "backfill-src")).toBe(`0000000000000000_${String(first?.end).padStart(16, "0")}`);
    // The failed repair backs off (attempts counted, next attempt later), rather than reading the
    // missing segment again on every round.
    const lagging = await runInDurableObject(subscribersObject(P, "backfill-src"), (_instance, state) =>
      state.storage.sql.exec<{ attempts: number; next_attempt_at: number }>("SELECT attempts, next_attempt_at FROM subscribers WHERE estuary = ?", `${P}/backfilled`).one(),
    );
    expect(lagging.attempts).toBeGreaterThanOrEqual(1);
    expect(lagging.next_attempt_at).toBeGreaterThan(Date.now());

    await env.COLD_SEGMENTS.put(second?.key ?? "", bytes);
    const tail = await tailOf(P, "backfill-src");
    await eventually(async () => expect(await deliveredOffset(P, "backfilled", "backfill-src")).toBe(tail), 30_000);
    const pages = await catchUp(`/v1/stream/${P}/backfilled`);
    expect(pages.flatMap((page) => JSON.parse(new TextDecoder().decode(page.body)) as unknown[])).toEqual(sent);
  });
});
