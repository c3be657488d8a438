// WebSocket helpers of the security tests: upgrades with any headers (the `ws` package: Node's
// global WebSocket cannot set Origin or Authorization), the status and JSON body of a refused
// upgrade, and an open socket's messages and close.
/// <reference types="node" />
import type { IncomingMessage } from "node:http";
import WebSocket from "ws";
import { SocketInbox } from "../support/socket-inbox";

const UPGRADE_TIMEOUT_MS = 10_000;

/** The answer to an upgrade: 101 with the open socket, or the refusal read to its end. */
export interface UpgradeOutcome {
  status: number;
  headers: Headers;
  /** The refusal's body ("" for a 101). */
  body: string;
  socket: SocketClient | null;
}

function toHeaders(response: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    for (const one of Array.isArray(value) ? value : [value ?? ""]) headers.append(name, one);
  }
  return headers;
}

/** ws://... for an http://... address. */
export function socketUrl(url: string): string {
  return url.replace(/^http/, "ws");
}

/**
 * Sends a WebSocket upgrade (a valid handshake, plus `headers`) and waits for the answer. A refusal
 * is read to its end and its connection dropped; a 101 yields the open socket, whose messages are
 * kept from the first one on.
 */
export function upgrade(url: string, headers: Record<string, string> = {}, timeoutMs = UPGRADE_TIMEOUT_MS): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      finish();
    };
    const ws = new WebSocket(socketUrl(url), { headers, handshakeTimeout: timeoutMs });
    const client = new SocketClient(ws);
    let answered = new Headers();
    ws.on("upgrade", (response) => (answered = toHeaders(response)));
    ws.on("open", () => settle(() => resolve({ status: 101, headers: answered, body: "", socket: client })));
    ws.on("unexpected-response", (_request, response) => {
      const chunks: Buffer[] = [];
      const done = () => {
        settle(() => resolve({ status: response.statusCode ?? 0, headers: toHeaders(response), body: Buffer.concat(chunks).toString("utf8"), socket: null }));
        ws.terminate();
      };
      // An event stream (an upgrade header on an SSE read) never ends: its first chunk will do.
      const eventStream = (response.headers["content-type"] ?? "").startsWith("text/event-stream");
      response.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        if (eventStream) done();
      });
      response.on("end", done);
      response.on("error", (error) => settle(() => reject(error)));
    });
    // After a refusal, terminate() reports an error of its own: only errors before an answer count.
    ws.on("error", (error) => settle(() => reject(error)));
    const timer = setTimeout(() => {
      settle(() => reject(new Error(`no answer to the upgrade of ${url} within ${timeoutMs} ms`)));
      ws.terminate();
    }, timeoutMs);
  });
}

export type { Closed } from "../support/socket-inbox";
export type { StreamFrame as Frame } from "../../src/protocol/ws-frames";

/** An open socket (ws package) that keeps every message it receives, to be read in order or waited on. */
export class SocketClient extends SocketInbox {
  /** Control-frame pongs received (answers to ping control frames). */
  readonly pongs: string[] = [];

  constructor(readonly ws: WebSocket) {
    super();
    ws.on("message", (data, isBinary) => {
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.receive(isBinary ? "<binary message>" : bytes.toString("utf8"));
    });
    ws.on("pong", (data) => {
      this.pongs.push(data.toString("utf8"));
      this.notify();
    });
    ws.on("close", (code, reason) => this.closedBy(code, reason.toString("utf8")));
    // Errors end in a close, which is what the tests look at.
    ws.on("error", () => undefined);
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  close(code = 1000): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code);
  }
}
