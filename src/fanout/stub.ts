// How other modules address a source's fan-out object (StreamSubscribersDO), named like the source's StreamDO.
import type { Env } from "../env";
import type { StreamSubscribersDO } from "./subscribers-do";

/** One StreamSubscribersDO per source stream, under the same name as the source's StreamDO. */
export function fanoutStub(env: Env, source: string): DurableObjectStub<StreamSubscribersDO> {
  return env.SUBSCRIBERS.getByName(source);
}
