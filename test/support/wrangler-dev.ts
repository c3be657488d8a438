// Starts and stops a real `wrangler dev` process for Node-side tests.
/// <reference types="node" />
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface DevServer {
  baseUrl: string;
  port: number;
  persistDir: string;
  /** Graceful shutdown (SIGINT), escalating to SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** SIGKILL the whole process tree, to simulate a crash. */
  kill(): void;
}

export interface StartOptions {
  /** Reuse a persist dir, e.g. to restart against the same state. */
  persistDir?: string;
  vars?: Record<string, string>;
  env?: string;
  /** Another Worker's wrangler config, relative to the project root (the benchmark's baseline). */
  config?: string;
}

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
const wranglerBin = join(projectRoot, "node_modules", "wrangler", "bin", "wrangler.js");
const READY_TIMEOUT_MS = 60_000;
const POLL_INTERVAL_MS = 100;
const STOP_GRACE_MS = 5_000;
const MAX_OUTPUT_CHARS = 200_000;

// Wrangler refuses Node < 22.12; outside `npm run` the system node may be older.
function nodeBinary(): string {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major > 22 || (major === 22 && minor >= 12)) return process.execPath;
  return join(projectRoot, "node_modules", ".bin", "node");
}

/** A loopback port nothing listens on: taken from the OS, then let go (a receiver may bind it, or a test may need it closed). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

// The bin script forks wrangler's CLI, which forks workerd; killing only the
// top pid leaves workerd serving on the port, so signals go to every pid.
export function descendants(rootPid: number): number[] {
  let table: string;
  try {
    table = execFileSync("ps", ["-A", "-o", "pid=,ppid="], { encoding: "utf8" });
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const line of table.split("\n")) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (pid === undefined || ppid === undefined || Number.isNaN(pid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const found: number[] = [];
  const queue = [rootPid];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitUntilGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

async function waitForHttp(
  baseUrl: string,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `wrangler dev exited (${child.exitCode ?? child.signalCode}) before serving:\n${output()}`,
      );
    }
    try {
      const res = await fetch(`${baseUrl}/`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      return;
    } catch {
      await sleep(POLL_INTERVAL_MS);
    }
  }
  throw new Error(
    `wrangler dev gave no HTTP response at ${baseUrl}/ within ${READY_TIMEOUT_MS} ms:\n${output()}`,
  );
}

export async function startWranglerDev(options: StartOptions = {}): Promise<DevServer> {
  const port = await freePort();
  const persistDir = options.persistDir ?? (await mkdtemp(join(tmpdir(), "wrangler-dev-")));
  const baseUrl = `http://127.0.0.1:${port}`;
  const args = [
    wranglerBin,
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--persist-to",
    persistDir,
    "--show-interactive-dev-session=false",
    // Request logging (info level) costs about 2 ms of wrangler's time per request, which is most of
    // a request's local cost; warnings and errors (a failed fan-out, a crash) are still captured.
    "--log-level",
    "warn",
  ];
  for (const [key, value] of Object.entries(options.vars ?? {})) args.push("--var", `${key}:${value}`);
  if (options.env) args.push("--env", options.env);
  if (options.config) args.push("--config", options.config);

  const child = spawn(nodeBinary(), args, {
    cwd: projectRoot,
    detached: false,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
  });
  let captured = "";
  const capture = (chunk: Buffer) => {
    captured = (captured + chunk.toString("utf8")).slice(-MAX_OUTPUT_CHARS);
  };
  child.stdout?.on("data", capture);
  child.stderr?.on("data", capture);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const rootPid = child.pid;
  if (rootPid === undefined) throw new Error("failed to spawn wrangler dev");
  const tree = () => [rootPid, ...descendants(rootPid)];
  const killTree = () => signalAll(tree(), "SIGKILL");
  // A test run that dies mid-way must not leave workerd holding the port.
  process.once("exit", killTree);

  try {
    await waitForHttp(baseUrl, child, () => captured);
  } catch (error) {
    killTree();
    process.removeListener("exit", killTree);
    throw error;
  }

  return {
    baseUrl,
    port,
    persistDir,
    async stop() {
      // Snapshot first: once the parent exits, its children are reparented.
      const pids = tree();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGINT");
      }
      const graceful = await Promise.race([
        exited.then(() => waitUntilGone(pids, STOP_GRACE_MS)),
        sleep(STOP_GRACE_MS).then(() => false),
      ]);
      if (!graceful) {
        signalAll([...pids, ...descendants(rootPid)], "SIGKILL");
        await waitUntilGone(pids, STOP_GRACE_MS);
      }
      process.removeListener("exit", killTree);
    },
    kill() {
      killTree();
      process.removeListener("exit", killTree);
    },
  };
}
