// Vitest config for the real-browser tests: Node-side files that start `wrangler dev` and drive a
// headless Chromium (Debian's chromium package, through playwright-core) against it.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL("../../", import.meta.url));

export default defineConfig({
  root,
  test: {
    include: ["test/browser/*.test.ts"],
    environment: "node",
    // One wrangler dev (workerd) and one browser at a time keep a 2-core machine responsive.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
});
