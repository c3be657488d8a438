// Starts and stops the servers under test on loopback: ours under wrangler dev, and the Node reference server.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { descendants, startWranglerDev, type DevServer, type StartOptions } from "../test/support/wrangler-dev.ts";

export type TargetKey = "ours" | "refMemory" | "refFile" | "platform";

export interface Target {
  key: TargetKey;
  label: string;
  baseUrl: string;
  /** The server's processes, for CPU accounting. */
  pids(): number[];
  stop(): Promise<void>;
}

/** Long-poll timeout for every server: long enough that no measured wake is a timeout. */
export const LONG_POLL_TIMEOUT_MS = 2_000;

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

/**
 * Ours under local wrangler dev, with a fresh persist dir that is removed again on stop. It pushes
 * to every subscriber (no pull threshold), so the fan-out rows measure push-to-all at every size.
 */
export function startOurs(): Promise<Target> {
  return startDev("ours", "ours (wrangler dev)", { vars: { LONG_POLL_TIMEOUT_MS: String(LONG_POLL_TIMEOUT_MS), FANOUT_PULL_THRESHOLD: "1000000000" } });
}

/** Ours with the production fan-out defaults: push to hot estuaries, pull for the rest (the pull scenario). */
export function startOursDefaults(): Promise<Target> {
  return startDev("ours", "ours (wrangler dev, default fan-out)", { vars: { LONG_POLL_TIMEOUT_MS: String(LONG_POLL_TIMEOUT_MS) } });
}

/** Ours with extra vars (the cold scenario's 1 MiB COLD_AFTER_BYTES). */
export function startOursWith(vars: Record<string, string>): Promise<Target> {
  return startDev("ours", "ours (wrangler dev, custom vars)", { vars: { LONG_POLL_TIMEOUT_MS: String(LONG_POLL_TIMEOUT_MS), ...vars } });
}

/** The minimal Worker + Durable Object of bench/baseline under wrangler dev: the local platform's floor. */
export function startPlatformFloor(): Promise<Target> {
  return startDev("platform", "minimal Worker + DO (wrangler dev)", { config: "bench/baseline/wrangler.toml" });
}

async function startDev(key: TargetKey, label: string, options: StartOptions): Promise<Target> {
  let dev: DevServer | undefined;
  // The free port is picked before wrangler binds it, so another process may take it in between.
  for (let attempt = 1; !dev; attempt++) {
    try {
      dev = await startWranglerDev(options);
    } catch (error) {
      const portTaken = error instanceof Error && error.message.includes("Address already in use");
      if (!portTaken || attempt >= 3) throw error;
    }
  }
  const server = dev;
  return {
    key,
    label,
    baseUrl: server.baseUrl,
    // Only one target runs at a time, so every process this benchmark has started belongs to it.
    pids: () => descendants(process.pid),
    async stop() {
      await server.stop();
      await rm(server.persistDir, { recursive: true, force: true });
    },
  };
}

const referenceScript = fileURLToPath(new URL("./reference-server.ts", import.meta.url));

/**
 * The reference server in its own Node process, so it never shares an event loop with the load
 * generator. With `fileBacked`, it stores streams under a fresh data dir (LMDB + append-only logs).
 */
export async function startReference(fileBacked: boolean): Promise<Target> {
  const dataDir = fileBacked ? await mkdtemp(join(tmpdir(), "ds-reference-")) : undefined;
  const args = [referenceScript, "--long-poll-ms", String(LONG_POLL_TIMEOUT_MS)];
  if (dataDir) args.push("--data-dir", dataDir);
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const pid = child.pid;
  if (pid === undefined) throw new Error("failed to spawn the reference server");
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  let output = "";
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reference server not ready in ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const ready = /READY (\S+)/.exec(output);
      if (ready?.[1]) {
        clearTimeout(timer);
        resolve(ready[1].replace(/\/$/, ""));
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`reference server exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
  return {
    key: fileBacked ? "refFile" : "refMemory",
    label: fileBacked ? "reference (file)" : "reference (in-memory)",
    baseUrl,
    pids: () => [pid],
    async stop() {
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once("exit", () => resolve());
      });
      child.kill("SIGINT");
      const timer = setTimeout(kill, STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
      process.removeListener("exit", kill);
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
