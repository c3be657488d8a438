// A sink as its status routes show it, from its stored record.
import { formatOffset } from "../protocol/offsets";
import { streamPathOf } from "../protocol/stream-address";
import type { SinkView } from "./commands";
import type { SinkRecord } from "./repository";
import { batchWebhookId } from "./signing";

export async function sinkView(sink: SinkRecord): Promise<SinkView> {
  const batch = sink.batch;
  return {
    gaps: sink.gaps,
    id: sink.sinkId,
    source: streamPathOf(sink.source),
    url: sink.config.url,
    envelope: sink.config.envelope,
    typePrefix: sink.config.typePrefix,
    required: sink.config.required,
    deliveredOffset: formatOffset(sink.delivered),
    state: sink.state,
    inFlight: batch && { webhookId: await batchWebhookId(sink, batch), fromOffset: formatOffset(batch.from), toOffset: formatOffset(batch.to), gap: batch.gap !== undefined },
    failures: sink.failures,
    nextAttemptAt: sink.nextAttemptAt === null ? null : new Date(sink.nextAttemptAt).toISOString(),
    lastError: sink.lastError && { at: new Date(sink.lastError.at).toISOString(), message: sink.lastError.message },
  };
}
