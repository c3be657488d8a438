// Makes a stream's presence log exist: on the first flush of events, and when a data sink is
// subscribed to it before anyone joined. An existing log is confirmed (same configuration: 200). Its
// retention is PRESENCE_LOG_RETENTION (a day by default), trimmed like any stream's.
import { loadConfig } from "../config";
import type { Env } from "../env";
import { streamStub } from "../stream/stub";
import { presenceLogKey } from "./log-address";

export async function ensurePresenceLog(env: Env, source: string): Promise<void> {
  // A default, not the log's own policy: a log made under another PRESENCE_LOG_RETENTION still confirms.
  const defaultRetention = loadConfig(env).PRESENCE_LOG_RETENTION ?? undefined;
  const made = await streamStub(env, presenceLogKey(source)).create({ name: presenceLogKey(source), contentType: "application/json", closed: false, body: new Uint8Array(0), defaultRetention });
  if (!made.ok) throw new Error(`presence log not created: ${made.message}`);
}
