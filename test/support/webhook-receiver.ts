// A webhook receiver on loopback (node:http) for tests against `wrangler dev`: each path answers as
// its test says (a status with headers, or no answer at all), and every request is recorded.
/// <reference types="node" />
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface ReceivedRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** When it arrived (ms since epoch). */
  at: number;
  /** The answer it got: a status, or "hang" when none was sent. */
  answer: number | "hang";
}

export type Answer = { status: number; headers?: Record<string, string> } | "hang";

/** Decides the answer to the n-th request (from 0) on a path. */
export type Responder = (n: number) => Answer;

export interface Receiver {
  port: number;
  url(path: string): string;
  /** Sets how a path answers from now on (default: 200). */
  on(path: string, responder: Responder): void;
  requests(path: string): ReceivedRequest[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const responders = new Map<string, Responder>();
  const received: ReceivedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const path = request.url ?? "/";
      const n = received.filter((entry) => entry.path === path).length;
      const answer: Answer = (responders.get(path) ?? (() => ({ status: 200 })))(n);
      const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
      received.push({ path, headers, body: Buffer.concat(chunks), at, answer: answer === "hang" ? "hang" : answer.status });
      if (answer === "hang") {
        hanging.add(response);
        return;
      }
      response.writeHead(answer.status, answer.headers ?? {});
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    on: (path, responder) => void responders.set(path, responder),
    requests: (path) => received.filter((entry) => entry.path === path),
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
