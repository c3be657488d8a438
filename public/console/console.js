// @ts-check
// The console page: opens a stream with /v1/client.js, lists its messages as they arrive, appends
// one message over HTTP, and shows the connection's status. Messages are shown with textContent
// only, so a message can never inject markup into the page.
import { openStream } from "/v1/client.js";
import { diagnoseUpgrade, probeRead } from "./diagnose.js";

/** @typedef {import("../v1/client.js").StreamHandle} StreamHandle */
/** @typedef {import("../v1/client.js").Status} Status */

/** @param {string} id */
function element(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`console page has no #${id}`);
  return found;
}
/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ (element(id));

const statusEl = element("status");
const messagesEl = element("messages");
const logEl = element("log");
const LOG_LIMIT = 50;

// ?ping=<ms> shortens the keepalive, for trying a dead connection by hand (and for the browser test).
const pingMs = Number(new URLSearchParams(location.search).get("ping")) || undefined;

/** @type {StreamHandle | null} */
let handle = null;
let streamUrl = "";
let contentType = "";
let token = "";

/** @param {string} state @param {string} [text] */
function showStatus(state, text = state) {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
  const entry = document.createElement("li");
  entry.textContent = `${new Date().toISOString().slice(11, 23)} ${text}`;
  logEl.prepend(entry);
  while (logEl.children.length > LOG_LIMIT) logEl.lastElementChild?.remove();
}

/** @param {Status} status */
function describe(status) {
  /** @type {string[]} */
  const parts = [status.state];
  if (status.code !== undefined) parts.push(`code ${status.code}`);
  if (status.reason) parts.push(status.reason);
  if (status.delayMs !== undefined) parts.push(`retry ${status.attempt} in ${status.delayMs} ms`);
  if (status.error !== undefined) parts.push(`error: ${String(status.error)}`);
  return parts.join(" · ");
}

/** @param {string} text */
function addMessage(text) {
  const item = document.createElement("li");
  item.textContent = text;
  messagesEl.append(item);
}

/** @param {unknown} data */
function showData(data) {
  if (Array.isArray(data)) for (const message of data) addMessage(JSON.stringify(message));
  else if (data instanceof Uint8Array) {
    if (data.length > 0) addMessage(`${data.length} bytes: ${Array.from(data.slice(0, 32), (b) => b.toString(16).padStart(2, "0")).join(" ")}`);
  } else if (typeof data === "string" && data !== "") addMessage(data);
}

/** "myproject/orders", "/v1/stream/orders" or a full URL, to this origin's /v1/stream/... URL. */
function toStreamUrl(/** @type {string} */ path) {
  const trimmed = path.trim().replace(/^https?:\/\/[^/]+/, "").replace(/^\/?(v1\/stream\/)?/, "");
  return `/v1/stream/${trimmed.split("/").map(encodeURIComponent).join("/")}`;
}

/** @returns {Record<string, string>} */
function authHeaders() {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function stop() {
  handle?.close();
  handle = null;
  input("append").disabled = true;
  input("close").disabled = true;
}

element("open-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  stop();
  messagesEl.replaceChildren();
  streamUrl = toStreamUrl(input("path").value);
  token = input("token").value.trim();
  // The content type decides how frames look and what the append form sends; the read also tells a
  // missing stream or a refused token, with the server's reason, which a failed upgrade cannot.
  const read = await probeRead(streamUrl, authHeaders());
  if (!read.ok) return showStatus(read.final ? "refused" : "error", read.message);
  contentType = read.contentType;
  element("content-type").textContent = contentType;
  /** Whether the current connection opened: a failure before that may be a refused upgrade. */
  let opened = false;
  let diagnosing = false;
  const opening = openStream(streamUrl, {
    offset: input("offset").value.trim() || "-1",
    token: token || undefined,
    pingIntervalMs: pingMs,
    pongTimeoutMs: pingMs,
    onData(data, frame) {
      showData(data);
      element("current-offset").textContent = frame.streamNextOffset;
    },
    onStatus(status) {
      showStatus(status.state, describe(status));
      if (status.state === "connecting") opened = false;
      if (status.state === "open") opened = true;
      if (status.state !== "reconnecting" || opened || diagnosing) return;
      // The browser hides why an upgrade failed; ask over HTTP, and stop on what a retry cannot fix.
      diagnosing = true;
      void diagnoseUpgrade(streamUrl, authHeaders()).then((diagnosis) => {
        diagnosing = false;
        if (handle !== opening || !diagnosis || diagnosis.ok) return;
        if (!diagnosis.final) return showStatus(status.state, `${describe(status)} · ${diagnosis.message}`);
        stop();
        showStatus("refused", diagnosis.message);
      });
    },
  });
  handle = opening;
  input("append").disabled = false;
  input("close").disabled = false;
});

element("close").addEventListener("click", stop);

element("append-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = element("append-result");
  const text = input("message").value;
  let body = text;
  if ((contentType.split(";")[0] ?? "").trim().toLowerCase() === "application/json") {
    try {
      // One message: a JSON array body would append each of its elements as its own message.
      body = `[${JSON.stringify(JSON.parse(text))}]`;
    } catch {
      result.textContent = "not valid JSON";
      return;
    }
  }
  const response = await fetch(streamUrl, { method: "POST", headers: { "Content-Type": contentType, ...authHeaders() }, body });
  result.textContent = response.ok ? `appended (next offset ${response.headers.get("Stream-Next-Offset")})` : `${response.status}: ${await response.text()}`;
  if (response.ok) input("message").value = "";
});
