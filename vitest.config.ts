// Vitest config for the unit tests and the integration tests that run inside the Workers runtime.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      // A short long-poll timeout keeps tests that wait at the tail quick.
      // A short breaker cool-down lets fault tests watch it open and close.
      miniflare: { bindings: { LONG_POLL_TIMEOUT_MS: "500", BREAKER_COOLDOWN_MS: "200" } },
    }),
  ],
  test: {
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
  },
});
