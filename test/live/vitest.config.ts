// Vitest config for the live-read tests: Node-side files (Node 22's global WebSocket client) that
// each start their own `wrangler dev`.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL("../../", import.meta.url));

export default defineConfig({
  root,
  test: {
    include: ["test/live/*.test.ts"],
    environment: "node",
    // One wrangler dev (workerd) at a time keeps a 2-core machine responsive.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
});
