// How many client WebSockets the local runtime can hold on this machine, for the scale rows.
import { readFileSync } from "node:fs";

/**
 * Open files workerd needs per client WebSocket under wrangler dev, and for everything else: at
 * about 4,980 sockets with a limit of 20,000 it failed with "accept(): Too many open files" and
 * restarted, dropping every socket (1006).
 */
export const FILES_PER_SOCKET = 4;
const FILES_RESERVED = 1_000;

/** The most sockets the local runtime can hold, from the open-file limit it inherits from us (Linux), or null if unknown. */
export function socketCapacity(): { sockets: number; limit: number } | null {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((row) => row.startsWith("Max open files"));
    const limit = Number(line?.split(/\s+/)[3]);
    return Number.isFinite(limit) ? { sockets: Math.floor((limit - FILES_RESERVED) / FILES_PER_SOCKET), limit } : null;
  } catch {
    return null;
  }
}

