// Requests that only read never create storage: probing random stream, source or project names
// leaves the objects behind them without any table.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fanoutStub } from "../../src/fanout/stub";
import { projectStub } from "../../src/projects/stub";
import { call, streamObject } from "./worker";

function tables(stub: DurableObjectStub<Rpc.DurableObjectBranded>): Promise<string[]> {
  return runInDurableObject(stub, (_instance, state) =>
    state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
      .toArray()
      .map((row) => row.name),
  );
}

describe("read-only probes", () => {
  it("of a missing stream, by every read and by refused writes, store nothing", async () => {
    expect((await call("/v1/stream/probe/nothing?offset=-1")).status).toBe(404);
    expect((await call("/v1/stream/probe/nothing", { method: "HEAD" })).status).toBe(404);
    expect((await call("/v1/stream/probe/nothing", { method: "POST", headers: { "Content-Type": "text/plain" }, body: "x" })).status).toBe(404);
    expect((await call("/v1/stream/probe/nothing", { method: "DELETE" })).status).toBe(404);
    expect(await tables(streamObject("probe/nothing"))).toEqual([]);
  });

  it("of a source's fan-out status or an estuary store nothing", async () => {
    expect((await call("/v1/estuary/subscribers/probe/nothing")).status).toBe(404);
    expect((await call("/v1/estuary/probe/nothing")).status).toBe(404);
    expect(await tables(fanoutStub(env, "probe/nothing"))).toEqual([]);
  });

  it("of a project's auth data store nothing", async () => {
    expect(await projectStub(env, "no-such-project").auth()).toBeNull();
    expect(await tables(projectStub(env, "no-such-project"))).toEqual([]);
  });

  it("while a created stream does get its schema", async () => {
    expect((await call("/v1/stream/probe/something", { method: "PUT" })).status).toBe(201);
    expect(await tables(streamObject("probe/something"))).toEqual(expect.arrayContaining(["_migrations", "stream", "chunks"]));
  });
});
