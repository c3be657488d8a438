// `node bench/assets-hop.ts [rounds]` (Node 22: `npx node bench/assets-hop.ts`): what the `[assets]`
// table costs every API request under wrangler dev. The same build runs three ways at once (as
// configured; with `run_worker_first` for /v1/*; without assets) beside the minimal Worker + DO of
// bench/baseline, and each request kind is sent to all four in turn, the order rotating, so load
// from anything else on the machine falls on all of them alike (paired samples).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { startWranglerDev, type DevServer } from "../test/support/wrangler-dev.ts";
import { percentile, sorted } from "./stats.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const ASSETS_TABLE = '[assets]\ndirectory = "./public"\n';

/** wrangler.toml with its relative paths made absolute, so the variant can live in a temporary folder. */
async function variant(dir: string, name: string, change: (toml: string) => string): Promise<string> {
  const toml = (await readFile(join(root, "wrangler.toml"), "utf8")).replace('main = "src/index.ts"', `main = "${join(root, "src/index.ts")}"`);
  if (!toml.includes(ASSETS_TABLE)) throw new Error("wrangler.toml no longer has the [assets] table this compares");
  const path = join(dir, `${name}.toml`);
  await writeFile(path, change(toml).replace('directory = "./public"', `directory = "${join(root, "public")}"`));
  return path;
}

const rounds = Number(process.argv[2] ?? 500);
const dir = await mkdtemp(join(tmpdir(), "assets-hop-"));
const servers: { name: string; dev: DevServer }[] = [];
try {
  const configs: [string, string | undefined][] = [
    ["as configured ([assets])", undefined],
    ["run_worker_first = [/v1/*]", await variant(dir, "first", (toml) => toml.replace(ASSETS_TABLE, `${ASSETS_TABLE}run_worker_first = ["/v1/*"]\n`))],
    ["without [assets]", await variant(dir, "none", (toml) => toml.replace(ASSETS_TABLE, ""))],
    ["minimal Worker + DO", join(root, "bench/baseline/wrangler.toml")],
  ];
  for (const [name, config] of configs) servers.push({ name, dev: await startWranglerDev(config ? { config } : {}) });
  const body = new Uint8Array(64).fill(97);
  const path = "/v1/stream/bench/assets-hop";
  for (const { dev } of servers) await fetch(`${dev.baseUrl}${path}`, { method: "PUT", headers: { "content-type": "application/octet-stream" } });
  const kinds: [string, (base: string) => Promise<Response>][] = [
    ["GET /", (base) => fetch(`${base}/`)],
    ["HEAD of a stream", (base) => fetch(`${base}${path}`, { method: "HEAD" })],
    ["POST of 64 bytes", (base) => fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body })],
  ];
  console.log(`| request (${rounds} paired rounds, concurrency 1) | ${servers.map(({ name }) => name).join(" | ")} |`);
  console.log(`| --- |${servers.map(() => " --- |").join("")}`);
  for (const [kind, send] of kinds) {
    const samples = servers.map((): number[] => []);
    // 20 unrecorded rounds first: every server has compiled and warmed the same paths.
    for (let round = -20; round < rounds; round++) {
      for (let k = 0; k < servers.length; k++) {
        const i = (k + round + 20) % servers.length;
        const started = performance.now();
        const reply = await send(servers[i]?.dev.baseUrl ?? "");
        await reply.arrayBuffer();
        if (round >= 0) samples[i]?.push(performance.now() - started);
      }
    }
    const p50 = samples.map((values) => percentile(sorted(values), 50));
    const floor = p50.at(-1) ?? Number.NaN;
    const cells = samples.map((values, i) => `${(p50[i] ?? 0).toFixed(2)} / ${percentile(sorted(values), 99).toFixed(2)} ms (${(floor / (p50[i] ?? 1)).toFixed(2)}x)`);
    console.log(`| ${kind}: p50 / p99 (minimal / this, p50) | ${cells.join(" | ")} |`);
  }
} finally {
  for (const { dev } of servers) await dev.stop();
  await rm(dir, { recursive: true, force: true });
}
