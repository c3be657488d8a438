// Vitest config for the unit tests and the integration tests that run inside the Workers runtime.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      // A short long-poll timeout keeps tests that wait at the tail quick.
      // A short breaker cool-down lets fault tests watch it open and close.
      // A trim step of 16 rows lets the retention tests watch a trim take several alarms.
      // Small subscription and socket caps let the limits tests reach them with a handful; a source
      // with all 4 subscribers pushes only to hot estuaries (the pull tests).
      // Streams past 1 MiB of own data offload to R2 (the cold tier tests; large streams elsewhere too).
      miniflare: {
        bindings: {
          LONG_POLL_TIMEOUT_MS: "500",
          BREAKER_COOLDOWN_MS: "200",
          MAX_SUBSCRIBERS_PER_SOURCE: "4",
          FANOUT_PULL_THRESHOLD: "3",
          MAX_SUBSCRIPTIONS_PER_ESTUARY: "3",
          WS_MAX_PER_STREAM: "3",
          // Trims in steps of 16 rows, so the retention tests see a trim take several alarms.
          RETENTION_TRIM_ROWS: "16",
          COLD_AFTER_BYTES: "1048576",
          // One socket is sent to inside the append's event, two after it answered (both ways tested).
          WS_INLINE_BROADCAST_MAX: "1",
        },
      },
    }),
  ],
  test: {
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
  },
});
