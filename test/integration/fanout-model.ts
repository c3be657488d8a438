// A model world for one source's subscribers object: a source that holds messages, estuaries that
// apply ranges exactly as the receiver does (in order, from the position they hold), a queue that
// keeps what was sent, and faults on demand. The subscribers object under test is the real class,
// constructed on real SQLite storage with this world as its `env`; only its neighbours are models.
import type { Delivery, DeliveryOutcome, FanoutJob } from "../../src/contract/fanout";
import type { Segment } from "../../src/contract/segments";
import { consumeFanout, DEAD_LETTER_QUEUE } from "../../src/fanout/queue-consumer";
import { StreamSubscribersDO } from "../../src/fanout/subscribers-do";
import type { Env } from "../../src/env";

export const SOURCE = "model/source";
/** Messages a model source read returns at most, so ranges arrive in several slices. */
const SLICE_MESSAGES = 3;

export interface ModelEstuary {
  /** The source position applied (one position per message), or undefined when not attached. */
  applied: number | undefined;
  /** Where it was attached: its log holds exactly [start, applied). */
  start: number;
  log: number[];
  /** Deliveries and pulls refused from now on, one per count. */
  failures: number;
}

export interface QueuedMessage {
  job: FanoutJob;
  attempts: number;
}

export class FanoutWorld {
  tail = 0;
  readonly estuaries = new Map<string, ModelEstuary>();
  readonly queue: QueuedMessage[] = [];
  readonly deadLetters: QueuedMessage[] = [];
  /** Job reports that vanish on their way back, one per count. */
  lostReports = 0;
  /** Repairs of dead-lettered jobs that fail, one per count. */
  failedRepairs = 0;
  /** Calls the object made to the source and the estuaries. */
  calls = 0;
  /** Promises the object handed to waitUntil. */
  private readonly pending: Promise<unknown>[] = [];
  subject: StreamSubscribersDO;
  readonly env: Env;
  private readonly ctx: DurableObjectState;

  constructor(state: DurableObjectState, vars: Record<string, string>) {
    // The object's alarm and background work are the world's to drive: nothing fires by itself.
    const patched = state as unknown as { waitUntil: (promise: Promise<unknown>) => void; storage: Record<string, unknown> };
    patched.storage.setAlarm = async () => undefined;
    patched.storage.deleteAlarm = async () => undefined;
    patched.waitUntil = (promise) => this.pending.push(promise);
    this.ctx = state;
    this.env = {
      ...vars,
      STREAMS: { getByName: (name: string) => (name === SOURCE ? this.sourceStub() : this.estuaryStub(name)) },
      SUBSCRIBERS: { getByName: () => this.fanoutStub() },
      FANOUT_QUEUE: {
        sendBatch: async (messages: { body: FanoutJob }[]) => {
          for (const message of messages) this.queue.push({ job: message.body, attempts: 0 });
        },
      },
    } as unknown as Env;
    this.subject = this.restart();
  }

  /** A new instance on the same storage: everything held in memory is gone, as after a crash. */
  restart(): StreamSubscribersDO {
    this.subject = new StreamSubscribersDO(this.ctx, this.env);
    return this.subject;
  }

  /** Waits for every round the object started in the background. */
  async settle(): Promise<void> {
    while (this.pending.length > 0) await this.pending.shift();
  }

  append(count: number): void {
    this.tail += count;
  }

  attach(name: string, position: number): void {
    this.estuaries.set(name, { applied: position, start: position, log: [], failures: 0 });
  }

  /** The estuary applies [from, to) of the source if it starts where it stands. */
  apply(name: string, from: number, to: number): DeliveryOutcome {
    const estuary = this.estuaries.get(name);
    if (estuary?.applied === undefined) return { ok: true, status: "unsubscribed", applied: 0 };
    if (to <= estuary.applied) return { ok: true, status: "duplicate", applied: estuary.applied };
    if (from !== estuary.applied) return { ok: true, status: "gap", applied: estuary.applied };
    for (let position = from; position < to; position++) estuary.log.push(position);
    estuary.applied = to;
    return { ok: true, status: "applied", applied: to, messages: to - from, rowsWritten: 1 };
  }

  /** Runs the queue message at `index` through the real consumer; a retried message stays queued. */
  async consume(index: number, dead: boolean): Promise<void> {
    const list = dead ? this.deadLetters : this.queue;
    const message = list[index];
    if (!message) return;
    list.splice(index, 1);
    message.attempts++;
    let retried = false;
    await consumeFanout(
      {
        queue: dead ? DEAD_LETTER_QUEUE : "estuary-fanout",
        messages: [{ id: `m${index}`, body: message.job, attempts: message.attempts, timestamp: new Date(), ack: () => undefined, retry: () => (retried = true) }],
        ackAll: () => undefined,
        retryAll: () => undefined,
      } as unknown as MessageBatch<unknown>,
      this.env,
    );
    if (retried) list.push(message);
  }

  /** The queue gives up on a message: it goes to the dead-letter queue. */
  deadLetter(index: number): void {
    const [message] = this.queue.splice(index, 1);
    if (message) this.deadLetters.push({ job: message.job, attempts: 0 });
  }

  private slice(from: number, to: number): { segments: Segment[]; next: number } {
    const next = Math.min(to, this.tail, from + SLICE_MESSAGES);
    const segments: Segment[] = [];
    for (let position = from; position < next; position++) segments.push({ data: new Uint8Array([position % 256]), messageEnd: true });
    return { segments, next };
  }

  private sourceStub() {
    return {
      readSlice: async (request: { from: number; limit: number }) => {
        this.calls++;
        return { ok: true, ...this.slice(request.from, request.limit) };
      },
      head: async () => ({ ok: true, tail: this.tail }),
      setFanout: async () => ({ tail: this.tail, contentType: "application/json" }),
    };
  }

  private estuaryStub(name: string) {
    return {
      deliver: async (delivery: Delivery) => {
        this.calls++;
        const estuary = this.estuaries.get(name);
        if (estuary && estuary.failures > 0) {
          estuary.failures--;
          throw new Error("model delivery refused");
        }
        return this.apply(name, delivery.from, delivery.to);
      },
      detachSource: async () => {
        const estuary = this.estuaries.get(name);
        if (estuary) estuary.applied = undefined;
      },
    };
  }

  private fanoutStub() {
    const subject = () => this.subject;
    return {
      recordJob: async (report: Parameters<StreamSubscribersDO["recordJob"]>[0]) => {
        if (this.lostReports > 0) {
          this.lostReports--;
          throw new Error("model report lost");
        }
        return subject().recordJob(report);
      },
      repair: async (job: FanoutJob) => {
        if (this.failedRepairs > 0) {
          this.failedRepairs--;
          throw new Error("model repair refused");
        }
        return subject().repair(job);
      },
      unsubscribe: (estuary: string) => subject().unsubscribe(estuary),
    };
  }
}
