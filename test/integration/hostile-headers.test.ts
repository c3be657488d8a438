// Unusual but legal, and malformed, header values: each gets a clear answer, never a 5xx.
import { describe, expect, it } from "vitest";
import { call, expectError } from "./worker";

describe("header edge cases", () => {
  it("accepts an expiry beyond what an alarm can be set to, and keeps the stream", async () => {
    const path = "/v1/stream/far-future";
    const created = await call(path, { method: "PUT", headers: { "Stream-Expires-At": "9999-12-31T23:59:59Z" } });
    expect(created.status).toBe(201);
    const head = await call(path, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Stream-Expires-At")).toBe("9999-12-31T23:59:59.000Z");
  });

  it("accepts a TTL of many millennia", async () => {
    const created = await call("/v1/stream/huge-ttl", { method: "PUT", headers: { "Stream-TTL": "999999999999999" } });
    expect(created.status).toBe(201);
  });

  it("rejects an oversized or malformed Content-Type with 400", async () => {
    await expectError(
      await call("/v1/stream/long-type", { method: "PUT", headers: { "Content-Type": `text/${"a".repeat(300)}` } }),
      400,
      "bad_request",
    );
    await expectError(
      await call("/v1/stream/bad-type", { method: "PUT", headers: { "Content-Type": "not a media type" } }),
      400,
      "bad_request",
    );
    expect((await call("/v1/stream/long-type", { method: "HEAD" })).status).toBe(404);
  });

  it("keeps media type parameters as given", async () => {
    const created = await call("/v1/stream/with-charset", {
      method: "PUT",
      headers: { "Content-Type": "text/plain; charset=utf-8" },
    });
    expect(created.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
  });
});
