// Starts one wrangler dev server for the conformance and client test files.
/// <reference types="node" />
import { rm } from "node:fs/promises";
import type { TestProject } from "vitest/node";
import { startWranglerDev } from "../support/wrangler-dev";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

// Must stay below the suite's 5 s per-test timeout, or long-poll tests time out.
const LONG_POLL_TIMEOUT_MS = "1000";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startWranglerDev({ vars: { LONG_POLL_TIMEOUT_MS } });
  project.provide("baseUrl", server.baseUrl);
  return async () => {
    await server.stop();
    await rm(server.persistDir, { recursive: true, force: true });
  };
}
