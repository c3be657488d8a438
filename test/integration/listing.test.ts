// Listing what exists: GET /v1/admin/projects from the deployment's project directory, and
// GET /v1/admin/projects/{project}/streams from the project's stream registry, each a page by name.
// Neither wakes a stream's object: the registries are the answer.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { projectStub } from "../../src/projects/stub";
import { createSource, eventually, subscribe } from "./estuary-support";
import { call, expectError } from "./worker";

const ADMIN = "listing-test-admin-token";
const app = buildApp();
const authOn = { ...env, AUTH_MODE: "on", ADMIN_TOKEN: ADMIN };

function admin(path: string, init: RequestInit = {}, token = ADMIN): Promise<Response> {
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  return Promise.resolve(app.request(`/v1/admin${path}`, { ...init, headers }, authOn));
}

async function createProject(project: string): Promise<void> {
  expect((await admin("/projects", { method: "POST", body: JSON.stringify({ project }) })).status).toBe(201);
}

interface ProjectPage {
  projects: { project: string; createdAt: string }[];
  next: string | null;
}

interface StreamPage {
  streams: { stream: string; kind: string }[];
  next: string | null;
}

async function page<T>(path: string): Promise<T> {
  const response = await admin(path);
  expect(response.status).toBe(200);
  return response.json<T>();
}

describe("GET /v1/admin/projects", () => {
  it("lists created projects by name, a bounded page at a time, with a cursor to the next", async () => {
    for (const name of ["lp-c", "lp-a", "lp-b"]) await createProject(name);

    const first = await page<ProjectPage>("/projects?after=lp-&limit=2");
    expect(first.projects.map((p) => p.project)).toEqual(["lp-a", "lp-b"]);
    expect(first.next).toBe("lp-b");
    expect(Date.parse(first.projects[0]?.createdAt ?? "")).not.toBeNaN();

    const second = await page<ProjectPage>(`/projects?after=${first.next}&limit=2`);
    expect(second.projects.map((p) => p.project)).toEqual(["lp-c"]);
    expect(second.next).toBeNull();
  });

  it("does not list the default project, which exists without being created", async () => {
    await createSource("default", "listed-default");
    const all = await page<ProjectPage>("/projects?limit=1000");
    expect(all.projects.map((p) => p.project)).not.toContain("default");
  });

  it("refuses junk queries with a 400 JSON error", async () => {
    for (const query of ["limit=0", "limit=abc", "limit=100000", "limit=1.5", "after=a%2Fb", "after=", "limit=1&limit=2", "colour=red"]) {
      await expectError(await admin(`/projects?${query}`), 400, "bad_request");
    }
  });

  it("needs the admin token", async () => {
    await expectError(await admin("/projects", {}, "not-the-admin-token"), 401, "unauthorized");
  });
});

describe("GET /v1/admin/projects/{project}/streams", () => {
  it("pages through a project's streams by name, each with its kind; a deleted stream leaves", async () => {
    const project = "ls-kinds";
    await createProject(project);
    for (const stream of ["s-b", "s-a", "s-d"]) await createSource(project, stream);
    expect(await subscribe(project, "s-a", "s-c")).toBe(201);

    // Streams register through their outboxes, just after they commit.
    await eventually(async () => {
      const all = await page<StreamPage>(`/projects/${project}/streams`);
      expect(all).toEqual({
        streams: [
          { stream: "s-a", kind: "plain" },
          { stream: "s-b", kind: "plain" },
          { stream: "s-c", kind: "estuary" },
          { stream: "s-d", kind: "plain" },
        ],
        next: null,
      });
    });

    const first = await page<StreamPage>(`/projects/${project}/streams?limit=3`);
    expect(first.streams.map((s) => s.stream)).toEqual(["s-a", "s-b", "s-c"]);
    expect(first.next).toBe("s-c");
    const second = await page<StreamPage>(`/projects/${project}/streams?limit=3&after=${first.next}`);
    expect(second).toEqual({ streams: [{ stream: "s-d", kind: "plain" }], next: null });

    expect((await call(`/v1/stream/${project}/s-b`, { method: "DELETE" })).status).toBe(204);
    await eventually(async () => {
      const after = await page<StreamPage>(`/projects/${project}/streams`);
      expect(after.streams.map((s) => s.stream)).toEqual(["s-a", "s-c", "s-d"]);
    });
  });

  it("lists the default project's streams", async () => {
    await createSource("default", "listed-in-default");
    await eventually(async () => {
      const all = await page<StreamPage>("/projects/default/streams?after=listed-in-&limit=1");
      expect(all.streams).toEqual([{ stream: "listed-in-default", kind: "plain" }]);
    });
  });

  it("answers from the registry alone: a registered stream whose object was never asked is listed", async () => {
    const project = "ls-registry-only";
    await createProject(project);
    // Only the registry knows this stream: its object was never created nor asked anything.
    await projectStub(env, project).registerStream("never-woken", 1, "estuary");
    expect(await page<StreamPage>(`/projects/${project}/streams`)).toEqual({ streams: [{ stream: "never-woken", kind: "estuary" }], next: null });
  });

  it("answers 404 for a project that was never created and holds no streams", async () => {
    await expectError(await admin("/projects/ls-nowhere/streams"), 404, "not_found");
  });

  it("refuses junk with a 400 JSON error and needs the admin token", async () => {
    for (const query of ["limit=-1", "limit=1001", "after=..", "limit="]) {
      await expectError(await admin(`/projects/ls-kinds/streams?${query}`), 400, "bad_request");
    }
    await expectError(await admin("/projects/__ds/streams"), 400, "bad_request");
    await expectError(await admin("/projects/ls-kinds/streams", {}, "not-the-admin-token"), 401, "unauthorized");
  });
});
