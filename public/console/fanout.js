// @ts-check
// The open stream's fan-out: its open connections (GET /v1/connections/...), its subscribers and
// commit policy (GET /v1/estuary/subscribers/...), and its data sinks with their last attempts
// (GET /v1/estuary/sinks/.../{sinkId}). Refreshed by hand and every few seconds while a stream is open.
import { addressPath, call } from "./api.js";

/** Often enough to watch a sink retry, rare enough that an open console costs the service little. */
const REFRESH_MS = 5_000;
/** Attempts shown per sink (the route answers up to 100). */
const ATTEMPTS_SHOWN = 5;

/** @param {(id: string) => HTMLElement} element */
export function setUpFanout(element) {
  const note = element("fanout-note");
  const sinksEl = element("sinks");
  /** @type {string | null} */
  let key = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let timer;
  /** Sinks whose attempts are unfolded: they stay unfolded (and reloaded) across refreshes. */
  const unfolded = new Set();

  /** @param {string} id @param {unknown} value */
  const put = (id, value) => {
    element(id).textContent = value === undefined || value === null ? "-" : String(value);
  };

  async function refresh() {
    const shown = key;
    if (!shown) return;
    const [connections, fanout] = await Promise.all([
      call("GET", addressPath(shown, "/v1/connections")),
      call("GET", addressPath(shown, "/v1/estuary/subscribers")),
    ]);
    if (key !== shown) return; // another stream was opened meanwhile
    /** @type {string[]} */
    const problems = [];
    if (connections.ok) {
      put("conn-ws", connections.data.webSocket);
      put("conn-sse", connections.data.sse);
      put("conn-longpoll", connections.data.longPoll);
    } else problems.push(`connections: ${connections.message}`);
    if (fanout.ok) {
      const status = fanout.data;
      put("sub-count", status.subscribers);
      put("sub-hot", status.hot);
      put("sub-pushed", status.pushed);
      put("sub-pulled", status.pulled);
      put("sub-mode", `${status.mode} · breaker ${status.breaker}`);
      put("sub-committed", status.committedOffset);
      put("sub-policy", status.policy.mode === "quorum" ? `quorum of ${status.policy.quorum}` : status.policy.mode);
      put("sub-error", status.lastError ? `${status.lastError.at} ${status.lastError.estuaryId ?? ""} ${status.lastError.message}` : "none");
      showSinks(shown, status.sinks);
    } else problems.push(`subscribers: ${fanout.message}`);
    note.textContent = problems.length ? problems.join(" · ") : `Updated ${new Date().toLocaleTimeString()}`;
    note.dataset.kind = problems.length ? "error" : "info";
  }

  /** @param {string} source @param {any[]} sinks */
  function showSinks(source, sinks) {
    if (sinks.length === 0) {
      const empty = document.createElement("p");
      empty.className = "muted";
      empty.textContent = "No data sinks.";
      sinksEl.replaceChildren(empty);
      return;
    }
    sinksEl.replaceChildren(...sinks.map((sink) => sinkCard(source, sink)));
  }

  /** @param {string} source @param {any} sink */
  function sinkCard(source, sink) {
    const card = document.createElement("article");
    card.className = "sink";
    card.dataset.sinkId = sink.id;
    const head = document.createElement("h4");
    const name = document.createElement("span");
    name.textContent = sink.id;
    const state = document.createElement("span");
    state.className = `pill sink-state state-${sink.state}`;
    state.textContent = sink.state;
    head.append(name, " ", state);
    const facts = document.createElement("dl");
    facts.className = "facts";
    /** @type {[string, string][]} */
    const rows = [
      ["URL", sink.url],
      ["Delivered to", sink.deliveredOffset],
      ["Failures in a row", String(sink.failures)],
      ["Next attempt", sink.nextAttemptAt ?? "-"],
      ["Last error", sink.lastError ? `${sink.lastError.at} ${sink.lastError.message}` : "none"],
    ];
    for (const [term, value] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = value;
      if (term === "Last error") dd.className = "sink-error";
      facts.append(dt, dd);
    }
    const attempts = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "Last attempts";
    const listEl = document.createElement("ol");
    listEl.className = "attempts";
    attempts.append(summary, listEl);
    attempts.addEventListener("toggle", () => {
      if (attempts.open) unfolded.add(sink.id);
      else unfolded.delete(sink.id);
      if (attempts.open) void loadAttempts(source, sink.id, listEl);
    });
    attempts.open = unfolded.has(sink.id);
    card.append(head, facts, attempts);
    return card;
  }

  /** @param {string} source @param {string} sinkId @param {HTMLElement} listEl */
  async function loadAttempts(source, sinkId, listEl) {
    const answer = await call("GET", `${addressPath(source, "/v1/estuary/sinks")}/${encodeURIComponent(sinkId)}`);
    if (!answer.ok) {
      listEl.replaceChildren(Object.assign(document.createElement("li"), { textContent: answer.message }));
      return;
    }
    const attempts = /** @type {any[]} */ (answer.data.attempts).slice(0, ATTEMPTS_SHOWN);
    listEl.replaceChildren(
      ...(attempts.length ? attempts : [null]).map((attempt) => {
        const item = document.createElement("li");
        item.textContent = attempt
          ? `${attempt.at} · ${attempt.status ?? "no answer"} · ${attempt.latencyMs} ms · ${attempt.fromOffset} → ${attempt.toOffset}${attempt.error ? ` · ${attempt.error}` : ""}`
          : "No attempts yet.";
        return item;
      }),
    );
  }

  return {
    /** @param {string | null} next the stream to watch, or null to stop */
    watch(next) {
      key = next;
      clearInterval(timer);
      timer = undefined;
      for (const id of ["conn-ws", "conn-sse", "conn-longpoll", "sub-count", "sub-hot", "sub-pushed", "sub-pulled", "sub-mode", "sub-committed", "sub-policy", "sub-error"]) put(id, null);
      sinksEl.replaceChildren();
      unfolded.clear();
      note.textContent = next ? "Loading…" : "Open a stream to see its fan-out.";
      if (!next) return;
      void refresh();
      timer = setInterval(() => void refresh(), REFRESH_MS);
    },
    refresh,
  };
}
