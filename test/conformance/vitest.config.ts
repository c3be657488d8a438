// Vitest config for tests that talk HTTP to a real `wrangler dev` process.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vitest/config";

const root = fileURLToPath(new URL("../../", import.meta.url));
const suitePackage = "@durable-streams/server-conformance-tests";

// The suite depends on vitest 4 and npm nests a private copy for it; its
// describe/test calls would register with that copy's runner, not ours, and
// fail at load time. Inline the suite and resolve its `vitest` to the project's.
function suiteUsesProjectVitest(): Plugin {
  return {
    name: "suite-uses-project-vitest",
    enforce: "pre",
    resolveId(id, importer) {
      if (id !== "vitest" || !importer?.includes(`/${suitePackage}/`)) return null;
      return this.resolve(id, join(root, "package.json"), { skipSelf: true });
    },
  };
}

export default defineConfig({
  root,
  plugins: [suiteUsesProjectVitest()],
  test: {
    include: ["test/conformance/conformance.test.ts", "test/client/*.test.ts"],
    globalSetup: ["test/conformance/global-setup.ts"],
    reporters: ["default", "./test/support/counts-reporter.ts"],
    environment: "node",
    server: { deps: { inline: [suitePackage] } },
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
});
