// @ts-check
// Follows who is present on a stream (re-exported by /v1/client.js): the snapshot
// (GET /v1/presence/{project}/{stream}), then the presence log's change events from the log's tail
// as it was before the snapshot was taken. The log lags the member table (its events are appended
// moments after each change), so every event before that tail is already in the snapshot, and each
// later one is applied in order: the last event for a user decides, as in the State Protocol's
// materialized state, and the set converges to the server's.
import { openStream } from "./client.js";

/**
 * @typedef {{ user: string, since: string, connections?: number, info?: Record<string, unknown> }} Member
 * @typedef {object} PresenceOptions
 * @property {(users: Map<string, Member>) => void} onChange Called with the whole set after the snapshot and after each change.
 * @property {(status: import("./client.js").Status) => void} [onStatus]
 * @property {string} [token]
 * @property {() => string | Promise<string>} [getToken]
 */

/**
 * @param {string} url The stream's presence path, e.g. "/v1/presence/myproject/lobby".
 * @param {PresenceOptions} options
 * @returns {Promise<{ close(): void, readonly users: Map<string, Member> }>}
 */
export async function followPresence(url, options) {
  const base = new URL(url, globalThis.location?.href);
  const users = /** @type {Map<string, Member>} */ (new Map());
  const token = options.getToken ? await options.getToken() : options.token;
  const headers = token ? { Authorization: `Bearer ${token}` } : undefined;
  const events = new URL(`${base.pathname}/events`, base);
  // The log's tail first (a log not made yet: from its start, every event of it is newer).
  const tail = await fetch(`${events.href}?offset=now`, { headers });
  if (!tail.ok && tail.status !== 404) throw new Error(`presence log: ${tail.status} ${await tail.text()}`);
  const offset = tail.ok ? (tail.headers.get("Stream-Next-Offset") ?? "-1") : "-1";
  for (let after = /** @type {string | undefined} */ (undefined); ; ) {
    const page = await fetch(`${base.href}${after === undefined ? "" : `?after=${encodeURIComponent(after)}`}`, { headers });
    if (!page.ok) throw new Error(`presence: ${page.status} ${await page.text()}`);
    const body = /** @type {{ users: Member[], next?: string }} */ (await page.json());
    for (const member of body.users) users.set(member.user, member);
    if (body.next === undefined) break;
    after = body.next;
  }
  options.onChange(users);
  const stream = openStream(events.href, {
    offset,
    token: options.token,
    getToken: options.getToken,
    onStatus: options.onStatus,
    onData(data) {
      for (const event of /** @type {{ type: string, key: string, value: Member, headers: { operation: string } }[]} */ (data)) {
        if (event.type !== "presence") continue;
        if (event.headers.operation === "delete") users.delete(event.key);
        else users.set(event.key, { ...users.get(event.key), ...event.value });
      }
      options.onChange(users);
    },
  });
  return {
    close: () => stream.close(),
    get users() {
      return users;
    },
  };
}
