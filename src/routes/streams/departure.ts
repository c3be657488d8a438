// A live read (long-poll, SSE) waits in its StreamDO, which cannot see the client: the Worker
// names the read and, when the runtime aborts the request because its client went away, tells the
// object to end that wait at once, so the reader leaves the connection counts and stops holding
// the stream's TTL within moments rather than at the read's own timeout.
import type { AppContext } from "../../http/context";
import type { StreamDO } from "../../stream/stream-do";

export interface LiveRead {
  /** The name the read carries to the object (ReadCommand.readerId). */
  readerId: string;
  /** Ends the read's wait at the object now; for a client that is known to be gone. */
  release(): void;
  /** Whether the client went away (or release() was called). */
  readonly departed: boolean;
}

export function liveRead(c: AppContext, stub: DurableObjectStub<StreamDO>): LiveRead {
  const readerId = crypto.randomUUID();
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    // waitUntil: the request is being cancelled, and this call must outlive it.
    c.executionCtx.waitUntil(stub.releaseRead(readerId).catch(() => undefined));
  };
  // Aborted by the runtime when the client disconnects (compatibility flag enable_request_signal).
  c.req.raw.signal.addEventListener("abort", release, { once: true });
  return {
    readerId,
    release,
    get departed() {
      return released;
    },
  };
}
