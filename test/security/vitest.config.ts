// Vitest config for the security tests: attack suite, production config and fuzzing, each file
// against its own `wrangler dev` (Node side).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL("../../", import.meta.url));

export default defineConfig({
  root,
  test: {
    include: ["test/security/*.test.ts"],
    environment: "node",
    // One wrangler dev (workerd) at a time keeps a 2-core machine responsive.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 90_000,
  },
});
