// Deleting a stream: now, or softly while forks still read its data. The calls other objects need
// (release the fork source, end subscriptions, unlink watchers, remove sinks) are written with the
// wipe and made by the alarm, so no caller (a read expiring the stream, say) ever waits on another
// object.
import type { EstuaryReceiver } from "../estuary/receiver";
import { CLOSE } from "../protocol/ws-frames";
import type { AlarmPlanner } from "../storage/alarm-planner";
import type { Outbox } from "../storage/outbox";
import { callsAfterDeletion, type StreamCall } from "./calls";
import type { ColdOffload } from "./cold/offload";
import type { ForkRegistry } from "./forks";
import type { LiveSockets } from "./live-sockets";
import type { StreamLog } from "./log";
import type { SinkLinks } from "./sink-links";
import type { StreamWatchers } from "./watchers";

/** The parts of a stream a deletion touches. */
export interface StreamParts {
  log: StreamLog;
  forks: ForkRegistry;
  sockets: LiveSockets;
  estuary: EstuaryReceiver;
  watchers: StreamWatchers;
  sinks: SinkLinks;
  outbox: Outbox<StreamCall>;
  alarms: AlarmPlanner;
  cold: ColdOffload;
}

export function removeStream(parts: StreamParts): void {
  const { log, forks, sockets, estuary, watchers, sinks, outbox, alarms, cold } = parts;
  const meta = log.meta;
  if (!meta || meta.status === "deleted") return;
  sockets.closeAll(CLOSE.streamGone, "stream deleted");
  if (forks.count() > 0) {
    log.update({ status: "soft_deleted" });
    log.waiters.wake();
    return;
  }
  const calls = [...callsAfterDeletion(meta, estuary.subscribedTo(), watchers.all(), sinks.all()), ...cold.deletionCalls(meta)];
  log.wipe(() => {
    outbox.add(calls.map((call) => ({ call })));
    sinks.clear();
  });
  watchers.cleared();
  estuary.clear();
  alarms.plan();
}
