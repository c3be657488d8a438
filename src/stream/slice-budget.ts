// The memory budget for slices this object serves (readSlice: inherited data for forks, source
// ranges for fan-out, estuary pulls and data sinks). Each slice may carry up to about 9 MiB, and
// callers come concurrently, so slices past the budget wait their turn rather than read at once.

/**
 * Bytes of slices in flight in one object at a time. An isolate has 128 MB (PLATFORM.md); a slice's
 * bytes exist about twice while in flight (the rows read from SQLite, and the copy serialized for
 * the caller), so 32 MiB keeps slices within about half of it, leaving the rest for the object's
 * other work (catch-up reads and socket frames of 1 MiB, an append of up to 8 MiB). It still admits
 * three of the largest slices callers ask for (FANOUT_SLICE_BYTES, 9 MiB) side by side.
 */
export const SLICE_BUDGET_BYTES = 32 * 1024 * 1024;

interface Waiting {
  bytes: number;
  admit: () => void;
}

export class SliceBudget {
  private inFlight = 0;
  private readonly queue: Waiting[] = [];

  constructor(readonly limit: number = SLICE_BUDGET_BYTES) {}

  /** Bytes reserved by slices being read or handed over now. */
  get bytesInFlight(): number {
    return this.inFlight;
  }

  /** Slices waiting for room in the budget. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Runs `read` once `estimate` bytes fit in the budget (in arrival order; a slice always runs when
   * nothing else is in flight, so one larger than the budget still makes progress). The reservation
   * then follows the bytes `read` reports, and is held until the result has been handed over.
   */
  async run<T>(estimate: number, read: () => Promise<{ result: T; bytes: number }>): Promise<T> {
    const want = Math.max(0, estimate);
    if (this.queue.length === 0 && this.fits(want)) this.inFlight += want;
    else await new Promise<void>((admit) => this.queue.push({ bytes: want, admit })); // release() reserves for it
    let held = want;
    try {
      const { result, bytes } = await read();
      this.inFlight += bytes - held;
      held = bytes;
      return result;
    } finally {
      // The result is serialized for the caller when this method's promise settles; a timer runs
      // after that, so the bytes count until they are the runtime's to send.
      setTimeout(() => this.release(held), 0);
    }
  }

  private fits(bytes: number): boolean {
    return this.inFlight === 0 || this.inFlight + bytes <= this.limit;
  }

  private release(bytes: number): void {
    this.inFlight -= bytes;
    for (let next = this.queue[0]; next && this.fits(next.bytes); next = this.queue[0]) {
      this.queue.shift();
      this.inFlight += next.bytes;
      next.admit();
    }
  }
}
