// Measures where CPU time goes during a phase: the server's processes, their busiest thread, and the load generator.
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

/** Linux reports utime/stime in clock ticks; USER_HZ is 100 on every mainstream kernel build. */
const TICKS_PER_SECOND = 100;

export interface CpuUsage {
  /** All server threads together, in % of one core (200 = two cores busy). */
  serverPct: number;
  /** The single busiest server thread, in % of one core: near 100 means one thread is the limit. */
  busiestThreadPct: number;
  busiestThreadName: string;
  /** This process (the load generator), in % of one core. */
  clientPct: number;
}

interface ThreadTicks {
  name: string;
  ticks: number;
}

/** utime + stime of each thread of `pid`, keyed by tid; empty where /proc is not available. */
function threadTicks(pid: number): Map<string, ThreadTicks> {
  const threads = new Map<string, ThreadTicks>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      // The thread name sits in parentheses and may itself contain spaces or parentheses.
      const close = stat.lastIndexOf(")");
      const name = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      threads.set(`${pid}/${tid}`, { name, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return threads;
}

function snapshot(pids: readonly number[]): Map<string, ThreadTicks> {
  const all = new Map<string, ThreadTicks>();
  for (const pid of pids) for (const [key, value] of threadTicks(pid)) all.set(key, value);
  return all;
}

/** Starts measuring; the returned function ends the phase and reports its CPU use. */
export function startCpu(pids: readonly number[]): () => CpuUsage {
  const before = snapshot(pids);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    const after = snapshot(pids);
    const client = process.cpuUsage(clientBefore);
    let total = 0;
    let busiest: ThreadTicks = { name: "", ticks: 0 };
    for (const [key, thread] of after) {
      const used = thread.ticks - (before.get(key)?.ticks ?? 0);
      total += used;
      if (used > busiest.ticks) busiest = { name: thread.name, ticks: used };
    }
    const pct = (ticks: number) => (seconds > 0 ? (100 * ticks) / TICKS_PER_SECOND / seconds : 0);
    return {
      serverPct: pct(total),
      busiestThreadPct: pct(busiest.ticks),
      busiestThreadName: busiest.name,
      clientPct: seconds > 0 ? (client.user + client.system) / 1e4 / seconds : 0,
    };
  };
}

/** The command name of a pid ("workerd", "node", ...), or "" if it is gone. */
export function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}
