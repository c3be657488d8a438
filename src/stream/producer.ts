// Idempotent producers (protocol §5.2.1): the epoch/sequence decision, free of storage.
import { fail, type Failure } from "../errors";

export interface ProducerHeaders {
  id: string;
  epoch: number;
  seq: number;
}

export interface ProducerState {
  epoch: number;
  lastSeq: number;
}

export type ProducerDecision =
  | { kind: "accept"; epoch: number; seq: number }
  | { kind: "duplicate"; epoch: number; highestSeq: number }
  | Failure;

export function decideProducer(state: ProducerState | undefined, request: ProducerHeaders): ProducerDecision {
  const { epoch, seq } = request;
  if (!state || epoch > state.epoch) {
    if (seq === 0) return { kind: "accept", epoch, seq };
    if (state) return fail("bad_request", `a new producer epoch must start at seq 0, got ${seq}`);
    return gap(0, seq);
  }
  if (epoch < state.epoch) {
    return fail("forbidden", `producer epoch ${epoch} is stale; current epoch is ${state.epoch}`, {
      "Producer-Epoch": String(state.epoch),
    });
  }
  if (seq <= state.lastSeq) return { kind: "duplicate", epoch, highestSeq: state.lastSeq };
  if (seq === state.lastSeq + 1) return { kind: "accept", epoch, seq };
  return gap(state.lastSeq + 1, seq);
}

function gap(expected: number, received: number): Failure {
  return fail("conflict", `producer sequence gap: expected ${expected}, received ${received}`, {
    "Producer-Expected-Seq": String(expected),
    "Producer-Received-Seq": String(received),
  });
}
