// @ts-check
// The console page: opens a stream with /v1/client.js and shows its messages as they arrive
// (messages.js), appends and deletes over HTTP, and shows the connection's status. The browser
// (browse.js), the fan-out panel (fanout.js) and who is present (presence.js) hang off it.
import { openStream } from "/v1/client.js";
import { addressPath, authHeaders, call, parseAddress, tokens } from "./api.js";
import { setUpBrowser } from "./browse.js";
import { diagnoseUpgrade, probeRead } from "./diagnose.js";
import { setUpFanout } from "./fanout.js";
import { setUpPresence } from "./presence.js";
import { showData } from "./messages.js";

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
const bannerEl = element("banner");
const LOG_LIMIT = 50;
/** Buttons that act on the open stream: all off once it is closed, refused or gone. */
const STREAM_BUTTONS = ["append", "close", "delete", "fanout-refresh"];

// ?ping=<ms> shortens the keepalive, for trying a dead connection by hand (and for the browser test).
const pingMs = Number(new URLSearchParams(location.search).get("ping")) || undefined;

/** @type {StreamHandle | null} */
let handle = null;
/** "project/stream" of the stream shown, or "" */
let streamKey = "";
let streamUrl = "";
let contentType = "";

const fanout = setUpFanout(element);
const presence = setUpPresence(element);

/**
 * The panels that follow the open stream: fan-out at once; who is present once the stream's own
 * socket has opened (a refused stream must not leave the presence panel's socket retrying).
 * @param {string | null} key
 */
function watchPanels(key) {
  fanout.watch(key);
  if (key === null) void presence.watch(null);
}
const browser = setUpBrowser({ element, open: openByKey, announce });

/** @param {string} text */
function announce(text) {
  element("announcer").textContent = text;
}

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

/** @param {string | null} text @param {"gone" | "refused" | "closed"} [kind] */
function showBanner(text, kind = "gone") {
  bannerEl.hidden = text === null;
  bannerEl.textContent = text ?? "";
  bannerEl.dataset.kind = kind;
}

/** @param {boolean} enabled */
function enableStreamButtons(enabled) {
  for (const id of STREAM_BUTTONS) input(id).disabled = !enabled;
  element("delete-confirm").hidden = true;
}

function stop() {
  handle?.close();
  handle = null;
  void presence.watch(null);
  input("append").disabled = true;
  input("close").disabled = true;
}

/** The stream is gone (deleted, expired or re-created): nothing on it can be done any more. */
function markGone(/** @type {string} */ why) {
  stop();
  watchPanels(null);
  enableStreamButtons(false);
  showBanner(`${streamKey} is gone: ${why}. Reading stopped and its offsets no longer apply; create it again to start over.`, "gone");
  announce(`${streamKey} is gone`);
}

/** @param {string} key */
function openByKey(key) {
  input("path").value = key;
  /** @type {HTMLFormElement} */ (element("open-form")).requestSubmit();
}

element("open-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  stop();
  watchPanels(null);
  enableStreamButtons(false);
  showBanner(null);
  messagesEl.replaceChildren();
  const address = parseAddress(input("path").value);
  if (!address) return showStatus("refused", `not a stream path: ${input("path").value} (give project/stream, or stream for the default project)`);
  streamKey = address.key;
  streamUrl = addressPath(streamKey);
  tokens.stream = input("token").value.trim();
  element("stream-title").textContent = streamKey;
  element("content-type").textContent = "-";
  element("current-offset").textContent = "-";
  for (const link of document.querySelectorAll(".stream-link")) link.toggleAttribute("aria-current", /** @type {HTMLElement} */ (link).dataset.key === streamKey);
  // The content type decides how frames look and what the append form sends; the read also tells a
  // missing stream or a refused token, with the server's reason, which a failed upgrade cannot.
  const read = await probeRead(streamUrl, authHeaders());
  if (!read.ok) {
    if (read.final) showBanner(read.message, "refused");
    return showStatus(read.final ? "refused" : "error", read.message);
  }
  contentType = read.contentType;
  element("content-type").textContent = contentType;
  /** Whether the current connection opened: a failure before that may be a refused upgrade. */
  let opened = false;
  let diagnosing = false;
  /** The presence panel follows this stream (started at its first open). */
  let following = false;
  /** @type {StreamHandle | null} */
  let opening = null;
  opening = openStream(streamUrl, {
    offset: input("offset").value.trim() || "-1",
    token: tokens.stream || undefined,
    pingIntervalMs: pingMs,
    pongTimeoutMs: pingMs,
    onData(data, frame) {
      // The client moves its offset past a frame only after this returns: it is where the frame began.
      showData(messagesEl, data, opening?.offset ?? "-1", frame.streamNextOffset);
      element("current-offset").textContent = frame.streamNextOffset;
    },
    onStatus(status) {
      // The first "connecting" comes before openStream returns; later ones only while it is shown.
      if (opening && handle !== opening) return;
      showStatus(status.state, describe(status));
      if (status.state === "gone") return markGone("deleted or re-created (close code 4404)");
      if (status.state === "closed") {
        input("append").disabled = true;
        showBanner(`${streamKey} was closed by its writer: every message is shown, and it takes no more appends.`, "closed");
      }
      if (status.state === "connecting") opened = false;
      if (status.state === "open" && !opened && !following) {
        following = true;
        void presence.watch(streamKey);
      }
      if (status.state === "open") opened = true;
      if (status.state !== "reconnecting" || opened || diagnosing) return;
      // The browser hides why an upgrade failed; ask over HTTP, and stop on what a retry cannot fix.
      diagnosing = true;
      void diagnoseUpgrade(streamUrl, authHeaders()).then((diagnosis) => {
        diagnosing = false;
        if (handle !== opening || !diagnosis || diagnosis.ok) return;
        if (!diagnosis.final) return showStatus(status.state, `${describe(status)} · ${diagnosis.message}`);
        stop();
        showBanner(diagnosis.message, "refused");
        showStatus("refused", diagnosis.message);
      });
    },
  });
  handle = opening;
  enableStreamButtons(true);
  watchPanels(streamKey);
});

element("close").addEventListener("click", () => {
  stop();
  watchPanels(null);
});

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
      result.textContent = "Not valid JSON: this stream takes one JSON value per message.";
      return;
    }
  }
  const answer = await call("POST", streamUrl, { contentType, body });
  if (!answer.ok) {
    result.textContent = `Append refused: ${answer.message}`;
    if (answer.status === 404 || answer.status === 410) markGone(answer.message);
    return;
  }
  result.textContent = `appended (next offset ${answer.headers.get("Stream-Next-Offset")})`;
  input("message").value = "";
});

element("delete").addEventListener("click", () => {
  element("delete-confirm").hidden = false;
  input("delete-yes").focus();
});
element("delete-no").addEventListener("click", () => {
  element("delete-confirm").hidden = true;
  input("delete").focus();
});
element("delete-yes").addEventListener("click", async () => {
  element("delete-confirm").hidden = true;
  const deleting = streamKey;
  const answer = await call("DELETE", streamUrl);
  if (!answer.ok) return showStatus("error", `delete ${deleting} refused: ${answer.message}`);
  if (streamKey === deleting) markGone("deleted from this page");
  void browser.refresh();
});

element("fanout-refresh").addEventListener("click", () => void fanout.refresh());
input("admin-token").addEventListener("input", () => {
  tokens.admin = input("admin-token").value.trim();
});
input("admin-token").addEventListener("change", () => void browser.refresh());
input("token").addEventListener("input", () => {
  tokens.stream = input("token").value.trim();
});

watchPanels(null);
void browser.refresh();
