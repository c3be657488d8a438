// README's shell examples, run as printed, in README's order, against one fresh `wrangler dev` (auth
// off, as `npm run dev`): so an example that stops working, or a `# => ...` comment that stops
// being what its command prints, fails this test.
//
// What runs: every ```sh block, each as one bash script, except blocks whose fence follows a
// `<!-- readme-test: skip, <reason> -->` line; each skipped block is listed below as a test named
// with its reason (today: the quick start, which starts a server and runs the whole suite, and the
// admin API example, which targets a deployment with auth on). Two substitutions only:
// `http://127.0.0.1:8787` becomes the test server's URL and the sink receiver's port 8788 a free
// port. The expected-output convention is in `readme-blocks.ts`; an expectation is looked for in
// what its command prints (for a command sent to the background with `&`, in anything printed from
// its start to the block's end, since its output lands among later commands'). A command may fail
// (non-zero exit) only if it is curl ending its own `--max-time` (exit 28, the SSE example).
/// <reference types="node" />
import { spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startWranglerDev, type DevServer } from "../support/wrangler-dev";
import { lineMatches, readmeBlocks, type Block } from "./readme-blocks";

const README = new URL("../../README.md", import.meta.url);
const README_BASE = "http://127.0.0.1:8787";
const RECEIVER_PORT = /\b8788\b/g;
/** Longest a block may run: the slowest waits 3 s (SSE's --max-time); a broken long-poll waits 20 s. */
const BLOCK_TIMEOUT_MS = 40_000;
/** curl's exit code when its own --max-time ends it. */
const CURL_TIMED_OUT = 28;
/** Bash prints these around the block's commands, so each line printed is known to come after which command. */
const PRELUDE = [
  `trap 'printf "\\n@@line %d@@\\n" $((LINENO - 2))' DEBUG`,
  `trap 'printf "\\n@@error %d %d@@\\n" $((LINENO - 2)) $?' ERR`,
].join("\n");

const blocks = readmeBlocks(await readFile(README, "utf8"));
let server: DevServer;

beforeAll(async () => {
  server = await startWranglerDev();
});

afterAll(async () => {
  await server?.stop();
  if (server) await rm(server.persistDir, { recursive: true, force: true });
});

interface Run {
  stdout: string;
  stderr: string;
}

/** Runs the block in bash, in its own process group, which is ended afterwards (a receiver left in the background goes with it). */
async function runBlock(block: Block): Promise<Run> {
  const receiverPort = String(await freePort());
  const code = block.code.replaceAll(README_BASE, server.baseUrl).replace(RECEIVER_PORT, receiverPort);
  const child = spawn("bash", ["--noprofile", "--norc", "-c", `${PRELUDE}\n${code}`], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const group = child.pid;
  const endGroup = () => {
    try {
      if (group !== undefined) process.kill(-group, "SIGKILL");
    } catch {
      // The group is already gone.
    }
  };
  const timer = setTimeout(endGroup, BLOCK_TIMEOUT_MS);
  // `close` waits for every holder of the pipes, background jobs included.
  await new Promise<void>((resolve) => child.once("close", () => resolve()));
  clearTimeout(timer);
  endGroup();
  return { stdout, stderr };
}

interface Printed {
  lines: { text: string; marker: number | null }[];
  errors: { line: number; status: number }[];
}

function parseOutput(stdout: string): Printed {
  const printed: Printed = { lines: [], errors: [] };
  for (const raw of stdout.replaceAll("\r", "").split("\n")) {
    const marker = /^@@line (-?\d+)@@$/.exec(raw);
    const error = /^@@error (-?\d+) (\d+)@@$/.exec(raw);
    if (error) printed.errors.push({ line: Number(error[1]), status: Number(error[2]) });
    else if (marker) printed.lines.push({ text: "", marker: Number(marker[1]) });
    else if (raw.trim()) printed.lines.push({ text: raw, marker: null });
  }
  return printed;
}

/** The printed lines an expectation at `line` may match: its command's output (to the block's end for `&`). */
function candidates(printed: Printed, line: number, background: boolean): string[] {
  const markers = printed.lines.map((entry, index) => ({ index, line: entry.marker })).filter((entry) => entry.line !== null);
  const command = Math.max(0, ...markers.map((entry) => entry.line ?? 0).filter((marked) => marked <= line));
  const start = markers.find((entry) => entry.line === command)?.index ?? 0;
  const stop = background ? printed.lines.length : (markers.find((entry) => entry.index > start && (entry.line ?? 0) > line)?.index ?? printed.lines.length);
  return printed.lines.slice(start, stop).filter((entry) => entry.marker === null).map((entry) => entry.text);
}

const codeLine = (block: Block, line: number) => block.code.split("\n")[line - 1] ?? "";

describe("README's shell examples, run in order against a fresh wrangler dev", () => {
  it("finds the blocks, and every block that runs says what it prints", () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks.filter((candidate) => !candidate.skip)) {
      expect(block.expectations.length, `README line ${block.readmeLine} (${block.heading}) has no "# => " comment`).toBeGreaterThan(0);
    }
  });

  for (const block of blocks) {
    const name = `README line ${block.readmeLine} (${block.heading})`;
    if (block.skip) {
      it(`${name} is not run: ${block.skip}`, () => {
        expect(block.skip?.trim().length).toBeGreaterThan(0);
      });
      continue;
    }
    it(`${name} prints what its comments say`, async () => {
      const run = await runBlock(block);
      const printed = parseOutput(run.stdout);
      const context = `\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
      for (const error of printed.errors) {
        const allowed = error.status === CURL_TIMED_OUT && codeLine(block, error.line).includes("--max-time");
        expect(allowed, `block line ${error.line} exited ${error.status}: ${codeLine(block, error.line)}${context}`).toBe(true);
      }
      for (const expectation of block.expectations) {
        const lines = candidates(printed, expectation.line, expectation.background);
        expect(
          lines.some((line) => lineMatches(expectation.text, line)),
          `block line ${expectation.line}: no printed line matches  # => ${expectation.text}\ncandidates:\n${lines.join("\n")}${context}`,
        ).toBe(true);
      }
    }, BLOCK_TIMEOUT_MS + 10_000);
  }
});
