// Subscription caps: subscribers per source and sources per estuary answer 409 beyond their limit,
// and what was already subscribed keeps working. (The test config sets the caps to 4 and 3.)
import { describe, expect, it } from "vitest";
import { createSource, eventually, publish, readJson, subscribe } from "./estuary-support";
import { call, expectError } from "./worker";

const P = "limits";

async function subscribeResponse(source: string, estuaryId: string): Promise<Response> {
  return call(`/v1/estuary/subscribe/${P}/${source}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ estuaryId }),
  });
}

describe("subscription limits", () => {
  it("refuses a subscriber beyond MAX_SUBSCRIBERS_PER_SOURCE with 409, and keeps serving the others", async () => {
    await createSource(P, "crowded");
    for (const id of ["c1", "c2", "c3", "c4"]) expect(await subscribe(P, "crowded", id)).toBe(201);
    const message = await expectError(await subscribeResponse("crowded", "c5"), 409, "conflict");
    expect(message).toContain("4");
    expect(await subscribe(P, "crowded", "c1")).toBe(200);
    // The refused estuary was not left behind.
    expect((await call(`/v1/stream/${P}/c5`, { method: "HEAD" })).status).toBe(404);

    await publish(P, "crowded", [{ n: 1 }]);
    await eventually(async () => expect(await readJson(P, "c4")).toEqual([{ n: 1 }]));
  });

  it("refuses an estuary's subscription beyond MAX_SUBSCRIPTIONS_PER_ESTUARY with 409", async () => {
    for (const source of ["s1", "s2", "s3", "s4"]) await createSource(P, source);
    for (const source of ["s1", "s2", "s3"]) expect(await subscribe(P, source, "busy")).toBe(201);
    const message = await expectError(await subscribeResponse("s4", "busy"), 409, "conflict");
    expect(message).toContain("3");

    const described = await (await call(`/v1/estuary/${P}/busy`)).json<{ subscriptions: unknown[] }>();
    expect(described.subscriptions).toHaveLength(3);
  });
});
