// Vitest config for the unit tests and the integration tests that run inside the Workers runtime.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      // A short long-poll timeout keeps tests that wait at the tail quick.
      miniflare: { bindings: { LONG_POLL_TIMEOUT_MS: "500" } },
    }),
  ],
  test: {
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
  },
});
