// The source's latest appends, as carried by its publish calls, held in memory so a fan-out round can
// hand them on without reading them back from the source. Only an optimisation: whatever is not held
// here, contiguously and exactly, is read from the durable source as before.
import type { Slice } from "./deliver";



/** Bounds what one subscribers object holds while rounds fall behind the publishes. */
const HOLD_BYTES = 1024 * 1024;

interface Append {
  from: number;
  to: number;
  messages: readonly Uint8Array[];
  bytes: number;
}

export class RecentAppends {
  private appends: Append[] = [];
  private bytes = 0;

  /** Keeps an append if it continues the ones held; otherwise starts over from it. */
  add(from: number, to: number, messages: readonly Uint8Array[]): void {
    if (this.appends.at(-1)?.to !== from) this.clear();
    const bytes = to - from;
    this.appends.push({ from, to, messages, bytes });
    this.bytes += bytes;
    while (this.bytes > HOLD_BYTES) this.dropFirst();
  }

  /** [from, to) as one slice, if exactly that range is held; appends that end by `from` are dropped. */
  slice(from: number, to: number): Slice | null {
    while ((this.appends[0]?.to ?? Infinity) <= from) this.dropFirst();
    if (this.appends[0]?.from !== from) return null;
    const segments = [];
    for (const append of this.appends) {
      if (append.to > to) return null;
      for (const data of append.messages) segments.push({ data, messageEnd: true });
      if (append.to === to) return { segments, next: to };
    }
    return null;
  }

  clear(): void {
    this.appends = [];
    this.bytes = 0;
  }

  private dropFirst(): void {
    const first = this.appends.shift();
    if (first) this.bytes -= first.bytes;
  }
}
