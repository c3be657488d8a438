// @ts-check
// Browser client for live reads over WebSocket (live=ws), served as /v1/client.js. No dependencies:
// a page imports it as an ES module. After any drop it reconnects from the streamNextOffset of the
// last frame it handed to the app, so the app sees every message once and in order across drops.

/**
 * One frame from the server (src/protocol/ws-frames.ts). `data` is an array of messages (JSON
 * streams), a string (text/*) or base64 (other types); streamNextOffset is the offset after it.
 * @typedef {{ data: unknown, streamNextOffset: string, upToDate: boolean, streamClosed?: true, encoding?: "base64" }} Frame
 */

/**
 * Final states end the client: "closed" (the writer closed the stream and every message was
 * delivered: a frame marked streamClosed, then code 1000; a 1000 without that frame is an ordinary
 * close and is retried), "gone" (deleted or re-created, 4404), "token-expired" (4401 with no
 * getToken to ask for a fresh one), "stopped" (the app called close()).
 * @typedef {"connecting" | "open" | "reconnecting" | "closed" | "gone" | "token-expired" | "stopped"} State
 */

/**
 * @typedef {object} Status
 * @property {State} state
 * @property {number} [code] Close code of the socket that just ended.
 * @property {string} [reason]
 * @property {number} [attempt] Connections in a row that failed before delivering a frame.
 * @property {number} [delayMs] Wait before the next connection.
 * @property {unknown} [error]
 */

/**
 * @typedef {object} Options
 * @property {(data: unknown, frame: Frame) => void} onData Called once per frame, in order. For
 *   binary streams `data` is a Uint8Array (decoded from the frame's base64).
 * @property {(status: Status) => void} [onStatus]
 * @property {string} [offset] "-1" (start), "now" (tail) or a streamNextOffset saved earlier.
 * @property {string} [token] Sent as ?token= (browsers cannot set headers on an upgrade).
 * @property {() => string | Promise<string>} [getToken] Asked before every connection, so a
 *   reconnect after 4401 (token expired) carries a fresh token, and again ahead of the current
 *   token's expiry (its `exp` claim), whose successor is sent on the open socket
 *   (`{"type":"auth","token"}`) so the socket lives on without a reconnect.
 * @property {number} [refreshAheadMs] How long before the token's expiry to refresh it (a token
 *   living less than twice this is refreshed at half its remaining life).
 * @property {number} [pingIntervalMs] How often to send "ping".
 * @property {number} [pongTimeoutMs] A connection that answers nothing for this long is dead.
 * @property {number} [initialBackoffMs]
 * @property {number} [maxBackoffMs]
 * @property {boolean} [presence] Be present on the stream as the token's user (?presence=true).
 * @property {string} [user] With auth off only: the user to be (?user=); with auth on the token names it.
 */

/**
 * `offset` is where the next connection starts: the last streamNextOffset handed over.
 * @typedef {{ close(): void, readonly offset: string, readonly state: State }} StreamHandle
 */

export { followPresence } from "./presence.js";

const FINAL = new Set(["closed", "gone", "token-expired", "stopped"]);

/**
 * Opens a live read of the stream at `url` (http(s)://, ws(s):// or a path on the page's origin,
 * e.g. "/v1/stream/myproject/orders") and keeps it open until the stream ends or close() is called.
 * @param {string} url
 * @param {Options} options
 * @returns {StreamHandle}
 */
export function openStream(url, options) {
  const { onData, onStatus = () => {}, getToken } = options;
  const { pingIntervalMs = 25_000, pongTimeoutMs = 10_000, initialBackoffMs = 500, maxBackoffMs = 30_000, refreshAheadMs = 60_000 } = options;
  // Resolved now, so a bad URL throws here rather than on some later reconnect.
  const base = new URL(url, globalThis.location?.href);
  let offset = options.offset ?? "-1";
  let token = options.token;
  /** @type {State} */
  let state = "connecting";
  /** @type {WebSocket | null} */
  let ws = null;
  let attempt = 0;
  /** The last frame handed over said the stream is closed: only then does 1000 mean the end. */
  let streamClosed = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ let retryTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ let pongTimer;
  /** @type {ReturnType<typeof setInterval> | undefined} */ let pingTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ let refreshTimer;

  /** @param {Status} status */
  const report = (status) => {
    state = status.state;
    onStatus(status);
  };

  async function connect() {
    retryTimer = undefined;
    report({ state: "connecting", attempt });
    /** @type {WebSocket} */
    let socket;
    try {
      if (getToken) token = await getToken();
      if (FINAL.has(state)) return; // close() was called while the token was on its way
      socket = new WebSocket(socketUrl(base, offset, token, options));
    } catch (error) {
      if (!FINAL.has(state)) retry({ error }); // getToken failed, or the runtime refused the URL
      return;
    }
    ws = socket;
    socket.onopen = () => {
      report({ state: "open" });
      keepalive(socket);
      scheduleRefresh(socket);
    };
    socket.onmessage = (event) => {
      clearTimeout(pongTimer); // anything at all proves the connection is alive
      pongTimer = undefined;
      if (event.data === "pong") return;
      // The server took the refreshed token: the next refresh is due before that one expires.
      if (isAuthAnswer(event.data)) return scheduleRefresh(socket);
      const frame = parseFrame(event.data);
      // Error frames answer client messages, and this client sends only "ping" and refreshes: tell the app.
      if (!frame) return onStatus({ state, error: event.data });
      attempt = 0; // a frame means the server took this offset and token: backoff starts over
      try {
        onData(frame.encoding === "base64" ? fromBase64(frame.data) : frame.data, frame);
      } finally {
        // Handed over (even if onData threw): a reconnect must not deliver this frame again.
        offset = frame.streamNextOffset;
        streamClosed = frame.streamClosed === true;
      }
    };
    // A refused upgrade (404, 401, offset beyond the end) reaches a browser as a bare 1006, with no
    // status to read: it is retried with backoff like a network failure; `attempt` shows it.
    socket.onclose = (event) => ended(socket, event.code, event.reason);
    // A browser follows `error` with close 1006, but Node 22's WebSocket fires only `error` on a
    // refused upgrade and stays CONNECTING. So `error` ends the connection as that 1006 would; it
    // detaches the socket, so the close that may follow is not handled twice. The socket is not
    // close()d: on Node that fires `error` again, synchronously.
    socket.onerror = () => ended(socket, 1006, "", { close: false });
  }

  /** @param {WebSocket} socket @param {number} code @param {string} reason @param {{ close: boolean }} [how] */
  function ended(socket, code, reason, how = { close: true }) {
    if (ws !== socket) return; // not the current socket (drop() detaches, this is a safety net)
    drop(how);
    if (FINAL.has(state)) return;
    if (code === 1000 && streamClosed) return report({ state: "closed", code, reason });
    if (code === 4404) return report({ state: "gone", code, reason });
    if (code === 4401) {
      if (!getToken) return report({ state: "token-expired", code, reason });
      attempt = 0; // the token is the problem, not the server: come back soon, with a new one
    }
    retry({ code, reason });
  }

  /** @param {Partial<Status>} detail */
  function retry(detail) {
    // Exponential with jitter (half fixed, half random) so clients dropped together spread out.
    const cap = Math.min(maxBackoffMs, initialBackoffMs * 2 ** attempt);
    const delayMs = Math.round(cap / 2 + (Math.random() * cap) / 2);
    attempt += 1;
    report({ ...detail, state: "reconnecting", attempt, delayMs });
    retryTimer = setTimeout(connect, delayMs);
  }

  /** @param {WebSocket} socket */
  function keepalive(socket) {
    pingTimer = setInterval(() => {
      socket.send("ping");
      // A dead path (sleeping laptop, NAT that forgot us) may never deliver a close: give up on
      // it ourselves. Its handlers go first, so nothing it still delivers can be handed over twice.
      // An unanswered ping keeps its deadline: later pings must not push it back.
      pongTimer ??= setTimeout(() => {
        drop();
        retry({ reason: "no pong" });
      }, pongTimeoutMs);
    }, pingIntervalMs);
  }

  /**
   * Asks getToken for the next token ahead of the current one's expiry and sends it on the socket.
   * If that fails, nothing is lost: the server closes the socket with 4401 at the expiry, and the
   * reconnect asks getToken again.
   * @param {WebSocket} socket
   */
  function scheduleRefresh(socket) {
    clearTimeout(refreshTimer);
    refreshTimer = undefined;
    const expiresAt = getToken ? tokenExpiry(token) : null;
    if (expiresAt === null) return;
    const left = expiresAt - Date.now();
    const delay = Math.max(0, left > 2 * refreshAheadMs ? left - refreshAheadMs : left / 2);
    refreshTimer = setTimeout(async () => {
      refreshTimer = undefined;
      /** @type {string} */
      let next;
      try {
        next = await /** @type {() => string | Promise<string>} */ (getToken)();
      } catch (error) {
        if (ws === socket) onStatus({ state, error });
        return;
      }
      if (ws !== socket) return; // the socket ended meanwhile: the reconnect has its own token
      token = next;
      socket.send(JSON.stringify({ type: "auth", token: next }));
    }, delay);
  }

  /** Forgets the current socket (closing it if still open, unless it failed) and its timers. */
  function drop({ close } = { close: true }) {
    clearTimeout(refreshTimer);
    refreshTimer = undefined;
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    pongTimer = undefined;
    const socket = ws;
    ws = null;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    if (close && socket.readyState <= 1) socket.close(1000);
  }

  void connect();
  return {
    close() {
      if (FINAL.has(state)) return;
      clearTimeout(retryTimer);
      drop();
      report({ state: "stopped" });
    },
    get offset() {
      return offset;
    },
    get state() {
      return state;
    },
  };
}

/** @param {URL} base @param {string} offset @param {string | undefined} token @param {{ presence?: boolean, user?: string }} who */
function socketUrl(base, offset, token, who) {
  const url = new URL(base);
  if (url.protocol === "http:") url.protocol = "ws:";
  if (url.protocol === "https:") url.protocol = "wss:";
  url.searchParams.set("offset", offset);
  url.searchParams.set("live", "ws");
  if (token) url.searchParams.set("token", token);
  if (who.presence) url.searchParams.set("presence", "true");
  if (who.user !== undefined) url.searchParams.set("user", who.user);
  return url.href;
}

/** @param {unknown} text @returns {Frame | null} */
function parseFrame(text) {
  if (typeof text !== "string") return null;
  try {
    const frame = JSON.parse(text);
    return typeof frame?.streamNextOffset === "string" ? frame : null;
  } catch {
    return null;
  }
}

/** @param {unknown} text */
function isAuthAnswer(text) {
  if (typeof text !== "string" || !text.startsWith('{"type":"auth"')) return false;
  try {
    return JSON.parse(text).type === "auth";
  } catch {
    return false;
  }
}

/**
 * The token's `exp` (ms since epoch), read without verifying (the server verifies); null if the
 * token is not a JWT with a numeric exp.
 * @param {string | undefined} token
 */
function tokenExpiry(token) {
  try {
    const part = (token ?? "").split(".")[1] ?? "";
    const exp = JSON.parse(atob(part.replaceAll("-", "+").replaceAll("_", "/"))).exp;
    return typeof exp === "number" ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/** @param {unknown} data */
function fromBase64(data) {
  return Uint8Array.from(atob(String(data)), (char) => char.charCodeAt(0));
}
