// @ts-check
// The message view: one row per message, with its offset and its arrival time at this page. Messages
// are shown with textContent only, so a message can never inject markup into the page.

/** Messages kept on the page; older ones are dropped from the top, as the log does. */
const MESSAGE_LIMIT = 500;
const OFFSET = /^(\d{16})_(\d{16})$/;
const encoder = new TextEncoder();

/**
 * Each JSON message's own offset, where the frame's offsets allow it: a JSON stream's offset counts
 * the bytes of its stored messages, stored as sent less the whitespace between tokens, which is what
 * JSON.stringify gives back for most messages. Where the sizes do not add up to the frame's span (a
 * number or escape JSON.parse rewrote) the offsets are not known, and null says so.
 * @param {string} from @param {string} next @param {string[]} texts @returns {string[] | null}
 */
function messageOffsets(from, next, texts) {
  const end = OFFSET.exec(next);
  const start = from === "-1" ? end && [from, end[1], "0"] : OFFSET.exec(from);
  if (!end || !start || start[1] !== end[1]) return null;
  let position = Number(start[2]);
  const offsets = texts.map((text) => {
    const offset = `${end[1]}_${String(position).padStart(16, "0")}`;
    position += encoder.encode(text).length;
    return offset;
  });
  return position === Number(end[2]) ? offsets : null;
}

/**
 * One message row: its offset (the offset to read from to receive it first; where a frame's offsets
 * do not tell each message's, the frame's start, numbered), when it arrived here, and the message as text.
 * @param {HTMLElement} messagesEl @param {string} text @param {{ offset: string | null, from: string, next: string, index: number, count: number, at: Date }} where
 */
function addMessage(messagesEl, text, where) {
  const item = document.createElement("li");
  item.className = "msg";
  item.dataset.offset = where.offset ?? where.from;
  item.dataset.next = where.next;
  const meta = document.createElement("div");
  meta.className = "msg-meta";
  const offset = document.createElement("code");
  offset.className = "msg-offset";
  offset.title = where.offset ? "this message's offset: reading from it starts with this message" : `read from this offset to receive this frame; the next offset after it is ${where.next}`;
  const from = where.from === "-1" ? "start (-1)" : where.from;
  offset.textContent = where.offset ?? `${from}${where.count > 1 ? ` #${where.index + 1}/${where.count}` : ""}`;
  const time = document.createElement("time");
  time.className = "msg-time";
  time.dateTime = where.at.toISOString();
  time.title = "arrival time at this page (streams store no append time)";
  time.textContent = where.at.toLocaleTimeString([], { hour12: false }) + `.${String(where.at.getMilliseconds()).padStart(3, "0")}`;
  meta.append(offset, time);
  const body = document.createElement("pre");
  body.className = "msg-body";
  body.textContent = text;
  item.append(meta, body);
  messagesEl.append(item);
  while (messagesEl.children.length > MESSAGE_LIMIT) messagesEl.firstElementChild?.remove();
  item.scrollIntoView({ block: "nearest" });
}

/**
 * Adds one frame's messages. `from` is the offset the frame began at, `next` the one after it.
 * @param {HTMLElement} messagesEl @param {unknown} data @param {string} from @param {string} next
 */
export function showData(messagesEl, data, from, next) {
  const at = new Date();
  /** @type {string[]} */
  let texts = [];
  /** @type {(string | null)[] | null} */
  let offsets = null;
  if (Array.isArray(data)) {
    texts = data.map((message) => JSON.stringify(message));
    offsets = messageOffsets(from, next, texts);
  } else if (data instanceof Uint8Array) {
    if (data.length > 0) texts = [`${data.length} bytes: ${Array.from(data.slice(0, 32), (b) => b.toString(16).padStart(2, "0")).join(" ")}`];
  } else if (typeof data === "string" && data !== "") texts = [data];
  // A text or binary frame is one row, which starts at the frame's start.
  if (!offsets && texts.length === 1 && from !== "-1") offsets = [from];
  texts.forEach((text, index) => addMessage(messagesEl, text, { offset: offsets?.[index] ?? null, from, next, index, count: texts.length, at }));
}
