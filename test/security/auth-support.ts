// Helpers of the auth tests: a wrangler dev with the production config, the admin API, tokens (minted or hand-made), whole answers.
/// <reference types="node" />
import { createHmac } from "node:crypto";
import { sign } from "hono/jwt";
import { expect } from "vitest";
import { startServer } from "../estuary/harness";
import type { DevServer } from "../support/wrangler-dev";

export const ADMIN_TOKEN = "security-tests-admin-token";

export type Scope = "read" | "write" | "manage";

/** How long a long-poll waits on the production server these tests start. */
export const LONG_POLL_TIMEOUT_MS = 1_000;

/**
 * The production config (auth on) with the admin API enabled, revocations effective at once
 * (AUTH_CACHE_MS 0) and 1 s long-polls.
 */
export function startProductionServer(): Promise<DevServer> {
  return startServer({ env: "production", vars: { ADMIN_TOKEN, AUTH_CACHE_MS: "0", LONG_POLL_TIMEOUT_MS: String(LONG_POLL_TIMEOUT_MS) } });
}

export const JSON_HEADERS = { "Content-Type": "application/json" };

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/** A response read to its end; an event stream only up to its first control event. */
export interface Outcome {
  status: number;
  headers: Headers;
  body: string;
}

export async function send(url: string, init: RequestInit = {}): Promise<Outcome> {
  const response = await fetch(url, init);
  const eventStream = (response.headers.get("Content-Type") ?? "").startsWith("text/event-stream");
  const body = eventStream ? await firstEvents(response) : await response.text();
  return { status: response.status, headers: response.headers, body };
}

/** Reads an SSE body until its first control event, then closes the connection. */
async function firstEvents(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (!/event: control\ndata:[^\n]*\n\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The error codes of a refusal: the service's, or the protocol's upper-case ones (`/v1/stream/__ds`). */
const REFUSAL_CODES = {
  service: { 401: "unauthorized", 403: "forbidden", 404: "not_found" },
  protocol: { 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "SUBSCRIPTION_NOT_FOUND" },
} as const;

/**
 * Asserts a refusal: the status, `WWW-Authenticate` on a 401, and the error shape (HEAD: no body).
 * Soft, so one run lists every route that misbehaves.
 */
export function expectRefusal(outcome: Outcome, method: string, status: 401 | 403 | 404, label: string, codes: keyof typeof REFUSAL_CODES = "service"): void {
  expect.soft(outcome.status, `${label}: ${outcome.body.slice(0, 200)}`).toBe(status);
  if (status === 401) expect.soft(outcome.headers.get("WWW-Authenticate") ?? "", label).toMatch(/^Bearer realm=/);
  if (method === "HEAD") {
    expect.soft(outcome.body, label).toBe("");
    return;
  }
  expect.soft(parseJson(outcome.body), label).toEqual({ error: { code: REFUSAL_CODES[codes][status], message: expect.any(String) } });
}

export interface NewProject {
  project: string;
  kid: string;
  secret: string;
}

export interface ProjectView {
  project: string;
  createdAt: string;
  corsOrigins: string[];
  secrets: { kid: string; createdAt: string }[];
}

export class Admin {
  constructor(private readonly baseUrl: string) {}

  request(method: string, path: string, body?: unknown, authorization = `Bearer ${ADMIN_TOKEN}`): Promise<Outcome> {
    return send(`${this.baseUrl}/v1/admin${path}`, {
      method,
      headers: { ...JSON_HEADERS, Authorization: authorization },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async createProject(project: string, corsOrigins: string[] = []): Promise<NewProject> {
    return this.expectJson<NewProject>(await this.request("POST", "/projects", { project, corsOrigins }), 201);
  }

  async addSecret(project: string): Promise<{ kid: string; secret: string }> {
    return this.expectJson(await this.request("POST", `/projects/${project}/secrets`), 201);
  }

  async revokeSecret(project: string, kid: string): Promise<void> {
    const outcome = await this.request("DELETE", `/projects/${project}/secrets/${kid}`);
    expect(outcome.status, outcome.body).toBe(204);
  }

  async describe(project: string): Promise<{ view: ProjectView; text: string }> {
    const outcome = await this.request("GET", `/projects/${project}`);
    return { view: this.expectJson<ProjectView>(outcome, 200), text: outcome.body };
  }

  async setCorsOrigins(project: string, corsOrigins: string[]): Promise<ProjectView> {
    return this.expectJson(await this.request("PATCH", `/projects/${project}`, { corsOrigins }), 200);
  }

  /** A token minted by the service (signed with the project's newest secret). */
  async mint(project: string, scope: Scope[], streams?: string[]): Promise<string> {
    const body = streams ? { scope, ttlSeconds: 3600, streams } : { scope, ttlSeconds: 3600 };
    return this.expectJson<{ token: string; expiresAt: string }>(await this.request("POST", `/projects/${project}/tokens`, body), 201).token;
  }

  private expectJson<T>(outcome: Outcome, status: number): T {
    expect(outcome.status, outcome.body).toBe(status);
    return JSON.parse(outcome.body) as T;
  }
}

/** Seconds since the epoch, `offset` seconds from now (JWT `exp`). */
export function epochIn(offsetSeconds: number): number {
  return Math.floor(Date.now() / 1000) + offsetSeconds;
}

/** A token signed the way a project's own backend would, with a JWT library. */
export function signToken(claims: Record<string, unknown>, secret: string, alg: "HS256" | "HS384" | "HS512" = "HS256"): Promise<string> {
  return sign(claims, secret, alg);
}

export function encodeSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** A token with any header at all, HMAC-signed over its first two segments. */
export function craftToken(header: unknown, claims: unknown, secret: string, hash: "sha256" | "sha512" = "sha256"): string {
  const signingInput = `${encodeSegment(header)}.${encodeSegment(claims)}`;
  return `${signingInput}.${createHmac(hash, secret).update(signingInput).digest("base64url")}`;
}
