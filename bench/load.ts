// The load generator: undici keep-alive pools, timed requests and closed-loop workers with per-request latency.
import { performance } from "node:perf_hooks";
import { Pool } from "undici";
import { mapLimit } from "../src/map-limit.ts";

export { mapLimit };

export interface RequestSpec {
  method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export interface Reply {
  status: number;
  headers: Record<string, string | undefined>;
  body: Buffer;
  /** From just before the request was handed to the pool until its body was fully read. */
  ms: number;
  /** performance.now() when the body had been read. */
  doneAt: number;
}

/** A keep-alive connection pool to one server; `connections` bounds requests in flight. */
export class Client {
  readonly baseUrl: string;
  readonly pool: Pool;

  constructor(baseUrl: string, connections: number) {
    this.baseUrl = baseUrl;
    // Long-poll and SSE responses may stay open for seconds; the defaults would cut them at 300 s anyway.
    this.pool = new Pool(baseUrl, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  }

  async send(spec: RequestSpec): Promise<Reply> {
    const started = performance.now();
    const response = await this.pool.request({
      method: spec.method,
      path: spec.path,
      headers: spec.headers,
      body: spec.body,
    });
    const body = Buffer.from(await response.body.arrayBuffer());
    const doneAt = performance.now();
    return { status: response.statusCode, headers: flatHeaders(response.headers), body, ms: doneAt - started, doneAt };
  }

  /** Like send, but a status outside 2xx is an error naming the request. */
  async expectOk(spec: RequestSpec): Promise<Reply> {
    const reply = await this.send(spec);
    if (reply.status < 200 || reply.status > 299) {
      throw new Error(`${spec.method} ${spec.path} answered ${reply.status}: ${reply.body.toString("utf8").slice(0, 300)}`);
    }
    return reply;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const flat: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  return flat;
}

export interface LoopResult {
  completed: number;
  errors: number;
  firstError: string | null;
  /** From the start until the last in-flight request of the last worker finished. */
  elapsedMs: number;
  latenciesMs: number[];
}

export interface LoopOptions {
  client: Client;
  concurrency: number;
  durationMs: number;
  /** The i-th request of the run (i counts across all workers). */
  request: (i: number) => RequestSpec;
  /** Which statuses count as answered; default 2xx. */
  accept?: (status: number) => boolean;
}

const is2xx = (status: number) => status >= 200 && status <= 299;

/**
 * `concurrency` workers each send a request, wait for the whole answer and send the next, until
 * `durationMs` has passed. Closed loop: throughput is what the server sustains at that concurrency.
 */
export async function closedLoop(options: LoopOptions): Promise<LoopResult> {
  const { client, concurrency, durationMs, request, accept = is2xx } = options;
  const latenciesMs: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | null = null;
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const spec = request(next++);
      try {
        const reply = await client.send(spec);
        if (accept(reply.status)) latenciesMs.push(reply.ms);
        else {
          errors++;
          firstError ??= `${spec.method} ${spec.path}: ${reply.status} ${reply.body.toString("utf8").slice(0, 200)}`;
        }
      } catch (error) {
        errors++;
        firstError ??= `${spec.method} ${spec.path}: ${String(error)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { completed: latenciesMs.length, errors, firstError, elapsedMs: performance.now() - started, latenciesMs };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A body of exactly `bytes` bytes that starts with `tag`, so a reader can tell messages apart. */
export function payload(tag: string, bytes: number): Buffer {
  const body = Buffer.alloc(bytes, ".");
  body.write(tag.slice(0, bytes), 0, "utf8");
  return body;
}
