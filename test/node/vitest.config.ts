// Vitest config for tests that need Node but no running service: the source's import graph and the
// OpenAPI document's validity.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL("../../", import.meta.url));

export default defineConfig({
  root,
  test: {
    include: ["test/node/*.test.ts"],
    environment: "node",
  },
});
