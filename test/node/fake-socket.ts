// A stand-in for the browser's WebSocket, shared by the browser client's tests: records what the
// client does and lets a test play the server.
import type { Frame } from "../../public/v1/client.js";

/** Stands in for the browser's WebSocket: records what the client does, lets a test play the server. */
export class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  sent: string[] = [];
  closedWith: number | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(text: string): void {
    this.sent.push(text);
  }
  close(code = 1005): void {
    this.closedWith = code;
    this.readyState = 3;
  }

  get params(): URLSearchParams {
    return new URL(this.url).searchParams;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }
  frame(frame: Partial<Frame> & { streamNextOffset: string }): void {
    this.onmessage?.({ data: JSON.stringify({ data: [], upToDate: true, ...frame }) });
  }
  text(data: string): void {
    this.onmessage?.({ data });
  }
  /**
   * The connection fails: an `error` event alone, the socket left CONNECTING, as Node 22's
   * WebSocket does on a refused upgrade (a browser follows it with close 1006, see `end`).
   */
  fail(): void {
    this.onerror?.({ type: "error" });
  }
  /** The server (or the network) ends the connection. */
  end(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

export const latest = (): FakeSocket => {
  const socket = FakeSocket.all.at(-1);
  if (!socket) throw new Error("no socket opened");
  return socket;
};
