// Runs the protocol's Node reference server (@durable-streams/server) on loopback until SIGINT or SIGTERM.
// Usage: node bench/reference-server.ts [--long-poll-ms 2000] [--data-dir DIR]; prints "READY <url>".
import { DurableStreamTestServer } from "@durable-streams/server";

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const server = new DurableStreamTestServer({
  host: "127.0.0.1",
  port: 0,
  longPollTimeout: Number(option("--long-poll-ms") ?? "2000"),
  // With a data dir the server is file-backed (LMDB metadata, append-only segment files, fdatasync per append).
  dataDir: option("--data-dir"),
  // Ours never compresses; the load generator sends no Accept-Encoding either, this only makes it certain.
  compression: false,
});

const url = await server.start();
process.stdout.write(`READY ${url}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server
    .stop()
    .catch((error: unknown) => console.error("reference server stop failed", error))
    .finally(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
