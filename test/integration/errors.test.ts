// The error shape: every failure is JSON {"error":{"code","message"}} with nosniff, whatever its status.
import { describe, expect, it } from "vitest";
import { call, expectError } from "./worker";

const text = { "Content-Type": "text/plain" };

describe("error responses", () => {
  it("400 for a malformed offset", async () => {
    expect((await call("/v1/stream/errors-400", { method: "PUT", headers: text })).status).toBe(201);
    await expectError(await call("/v1/stream/errors-400?offset=banana"), 400, "bad_request");
  });

  it("404 for a stream that does not exist", async () => {
    await expectError(await call("/v1/stream/errors-missing"), 404, "not_found");
  });

  it("404 for a route that does not exist", async () => {
    await expectError(await call("/v2/nothing-here"), 404, "not_found");
  });

  it("405 for a method streams do not support", async () => {
    expect((await call("/v1/stream/errors-405", { method: "PUT", headers: text })).status).toBe(201);
    await expectError(await call("/v1/stream/errors-405", { method: "PATCH", headers: text, body: "x" }), 405, "method_not_allowed");
  });

  it("409 for re-creating a stream with a different configuration", async () => {
    expect((await call("/v1/stream/errors-409", { method: "PUT", headers: text })).status).toBe(201);
    const conflict = await call("/v1/stream/errors-409", { method: "PUT", headers: { "Content-Type": "application/json" } });
    await expectError(conflict, 409, "conflict");
  });

  it("409 with Stream-Closed for appending to a closed stream", async () => {
    const path = "/v1/stream/errors-409-closed";
    expect((await call(path, { method: "PUT", headers: { ...text, "Stream-Closed": "true" } })).status).toBe(201);
    const closed = await call(path, { method: "POST", headers: text, body: "late" });
    expect(closed.headers.get("Stream-Closed")).toBe("true");
    await expectError(closed, 409, "conflict");
  });

  it("410 for reading a deleted stream that a fork still depends on", async () => {
    const source = "/v1/stream/errors-410-source";
    expect((await call(source, { method: "PUT", headers: text, body: "shared" })).status).toBe(201);
    const fork = await call("/v1/stream/errors-410-fork", {
      method: "PUT",
      headers: { ...text, "Stream-Forked-From": source },
    });
    expect(fork.status).toBe(201);
    expect((await call(source, { method: "DELETE" })).status).toBe(204);

    await expectError(await call(source), 410, "gone");
    expect(await (await call("/v1/stream/errors-410-fork?offset=-1")).text()).toBe("shared");
  });

  it("413 for a body over the limit", async () => {
    expect((await call("/v1/stream/errors-413", { method: "PUT", headers: text })).status).toBe(201);
    const tooLarge = await call("/v1/stream/errors-413", { method: "POST", headers: text, body: "x".repeat(8 * 1024 * 1024 + 1) });
    await expectError(tooLarge, 413, "too_large");
  });

  it("403 with Producer-Epoch for a fenced producer", async () => {
    const path = "/v1/stream/errors-403";
    const producer = (epoch: number) => ({ ...text, "Producer-Id": "w", "Producer-Epoch": String(epoch), "Producer-Seq": "0" });
    expect((await call(path, { method: "PUT", headers: text })).status).toBe(201);
    expect((await call(path, { method: "POST", headers: producer(1), body: "a" })).status).toBe(200);
    const stale = await call(path, { method: "POST", headers: producer(0), body: "b" });
    expect(stale.headers.get("Producer-Epoch")).toBe("1");
    await expectError(stale, 403, "forbidden");
  });
});
