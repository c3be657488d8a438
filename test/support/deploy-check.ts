// `npm run check:deploy`: bundles the production environment the way `wrangler deploy --env production`
// would, without uploading (`--dry-run`, offline, a few seconds), so a config or bundle that would not
// deploy fails `npm test`. Prints the bundle's size, which Cloudflare caps at 10 MB compressed
// (3 MB on the free plan; Workers platform limits).
/// <reference types="node" />
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
const wrangler = join(projectRoot, "node_modules", "wrangler", "bin", "wrangler.js");
const outdir = mkdtempSync(join(tmpdir(), "deploy-check-"));

try {
  const run = spawnSync(process.execPath, [wrangler, "deploy", "--dry-run", "--env", "production", "--outdir", outdir], {
    cwd: projectRoot,
    encoding: "utf8",
  });
  if (run.status !== 0) {
    process.stderr.write(run.stdout + run.stderr);
    console.error(`deploy check: wrangler deploy --dry-run --env production failed (exit ${run.status})`);
    process.exit(1);
  }
  const upload = /Total Upload: ([^\n]+)/.exec(run.stdout)?.[1]?.trim();
  const bytes = statSync(join(outdir, "index.js")).size;
  console.log(`deploy check: production bundle builds; index.js ${(bytes / 1024).toFixed(0)} KiB (${upload ?? "upload size not reported"})`);
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
