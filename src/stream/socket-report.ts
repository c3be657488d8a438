// Tells the stream's project how many WebSockets the stream holds open, so the project can answer
// its totals without waking every stream. Each change writes the new absolute count as a keyed
// outbox call (only the latest waits to be sent, retried until it lands) together with the count
// itself, so a restart that dropped sockets without close events is noticed on the next start.
import type { Outbox } from "../storage/outbox";
import { SOCKET_REPORT_KEY, type StreamCall } from "./calls";
import type { StreamLog } from "./log";

export class SocketReporter {
  /** The count last reported; loaded on first use. */
  private reported: number | undefined;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly log: StreamLog,
    private readonly outbox: Outbox<StreamCall>,
    /** Re-plans the object's alarm, which makes the outbox call. */
    private readonly replan: () => void,
  ) {}

  /** Reports `open` sockets if that is not what was last reported. */
  report(open: number): void {
    const meta = this.log.meta;
    // No stream was ever stored here, so no socket was ever accepted and there is nothing to correct.
    if (!meta || !this.log.schema.exists) return;
    this.reported ??= this.log.repo.socketsReported();
    if (open === this.reported) return;
    this.storage.transactionSync(() => {
      this.log.repo.saveSocketsReported(open);
      this.outbox.add([{ key: SOCKET_REPORT_KEY, call: { kind: "reportSockets", stream: meta.name, open } }]);
    });
    this.reported = open;
    this.replan();
  }
}
