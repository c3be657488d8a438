// A project token on a one-segment stream path: /v1/stream/acme is stream acme of project default,
// so an acme token is refused there, with a message that says what the path means and what to use.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { expectError } from "./worker";

const ADMIN = "token-paths-test-admin";
const app = buildApp();
const authOn = { ...env, AUTH_MODE: "on", ADMIN_TOKEN: ADMIN };

async function tokenFor(project: string): Promise<string> {
  const headers = { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" };
  const created = await app.request("/v1/admin/projects", { method: "POST", headers, body: JSON.stringify({ project }) }, authOn);
  expect(created.status).toBe(201);
  const minted = await app.request(`/v1/admin/projects/${project}/tokens`, { method: "POST", headers, body: JSON.stringify({ scope: ["manage"] }) }, authOn);
  expect(minted.status).toBe(201);
  return (await minted.json<{ token: string }>()).token;
}

describe("a project token on /v1/stream/{project}", () => {
  it("is refused with a 403 that explains the path names a stream of project default", async () => {
    const token = await tokenFor("acme-paths");
    const response = await app.request("/v1/stream/acme-paths", { headers: { Authorization: `Bearer ${token}` } }, authOn);
    const message = await expectError(response, 403, "forbidden");
    expect(message).toBe(
      "this token is for project acme-paths; /v1/stream/acme-paths is stream acme-paths of project default — use /v1/stream/acme-paths/{stream}",
    );
  });

  it("keeps the plain message for another project's stream", async () => {
    const token = await tokenFor("acme-other");
    const response = await app.request("/v1/stream/someone-else/orders", { method: "PUT", headers: { Authorization: `Bearer ${token}` } }, authOn);
    expect(await expectError(response, 403, "forbidden")).toBe("the token is for another project");
  });
});
