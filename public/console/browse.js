// @ts-check
// The project and stream browser: the admin listings (GET /v1/admin/projects and
// /v1/admin/projects/{project}/streams, a page at a time) and creating a stream (PUT). Listing needs
// the deployment's admin token; when it is refused the page says why and a stream is opened by name.
import { addressPath, call, parseAddress } from "./api.js";

const PAGE_SIZE = 50;
/** The default project exists without being created, so the projects listing may not name it. */
const DEFAULT_PROJECT = "default";

/**
 * @param {{
 *   element: (id: string) => HTMLElement,
 *   open: (key: string) => void,
 *   announce: (text: string) => void,
 * }} page
 */
export function setUpBrowser({ element, open, announce }) {
  const projectSelect = /** @type {HTMLSelectElement} */ (element("project"));
  const list = element("stream-list");
  const note = element("browse-note");
  const more = /** @type {HTMLButtonElement} */ (element("more-streams"));
  /** The `next` cursor of the last page shown, or null at the end. */
  let next = /** @type {string | null} */ (null);

  /** @param {string} text @param {"info" | "error"} kind */
  function say(text, kind = "info") {
    note.textContent = text;
    note.dataset.kind = kind;
  }

  async function loadProjects() {
    const chosen = projectSelect.value || DEFAULT_PROJECT;
    const names = new Set([DEFAULT_PROJECT]);
    let after = "";
    for (;;) {
      const answer = await call("GET", `/v1/admin/projects?limit=${PAGE_SIZE}${after ? `&after=${encodeURIComponent(after)}` : ""}`, { auth: "admin" });
      if (!answer.ok) {
        list.replaceChildren();
        more.hidden = true;
        say(`Listing refused (${answer.message}). Listing needs the admin token; or open a stream by its path below.`, "error");
        return false;
      }
      for (const { project } of answer.data.projects) names.add(project);
      if (!answer.data.next) break;
      after = answer.data.next;
    }
    projectSelect.replaceChildren(...[...names].sort().map((name) => new Option(name, name, false, name === chosen)));
    if (!names.has(chosen)) projectSelect.value = DEFAULT_PROJECT;
    return true;
  }

  /** @param {boolean} append the next page after what is shown, or the first page */
  async function loadStreams(append) {
    const project = projectSelect.value || DEFAULT_PROJECT;
    const after = append && next ? `&after=${encodeURIComponent(next)}` : "";
    const answer = await call("GET", `/v1/admin/projects/${encodeURIComponent(project)}/streams?limit=${PAGE_SIZE}${after}`, { auth: "admin" });
    if (!answer.ok) {
      say(`Listing ${project} refused: ${answer.message}`, "error");
      return;
    }
    if (!append) list.replaceChildren();
    for (const { stream, kind } of answer.data.streams) list.append(streamItem(`${project}/${stream}`, stream, kind));
    next = answer.data.next;
    more.hidden = !next;
    const count = list.children.length;
    say(count === 0 ? `No streams in ${project} yet.` : `${count}${next ? "+" : ""} stream${count === 1 ? "" : "s"} in ${project}.`);
  }

  /** @param {string} key @param {string} name @param {string} kind */
  function streamItem(key, name, kind) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "stream-link";
    button.dataset.key = key;
    const label = document.createElement("span");
    label.className = "stream-name";
    label.textContent = name;
    const badge = document.createElement("span");
    badge.className = `kind kind-${kind}`;
    badge.textContent = kind;
    button.append(label, badge);
    button.addEventListener("click", () => open(key));
    item.append(button);
    return item;
  }

  async function refresh() {
    if (await loadProjects()) await loadStreams(false);
  }

  element("refresh-list").addEventListener("click", () => void refresh());
  projectSelect.addEventListener("change", () => void loadStreams(false));
  more.addEventListener("click", () => void loadStreams(true));

  element("create-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = element("create-result");
    const name = /** @type {HTMLInputElement} */ (element("create-name")).value.trim();
    const address = parseAddress(name.includes("/") ? name : `${projectSelect.value || DEFAULT_PROJECT}/${name}`);
    if (!address) {
      result.textContent = "A stream name is 1-128 characters of A-Z a-z 0-9 . _ ~ -";
      return;
    }
    const contentType = /** @type {HTMLSelectElement} */ (element("create-type")).value;
    const answer = await call("PUT", addressPath(address.key), { contentType });
    if (!answer.ok) {
      result.textContent = `Create ${address.key} refused: ${answer.message}`;
      return;
    }
    result.textContent = answer.status === 201 ? `Created ${address.key} (${contentType}).` : `${address.key} already exists with this content type.`;
    announce(result.textContent);
    /** @type {HTMLInputElement} */ (element("create-name")).value = "";
    open(address.key);
    void refresh();
  });

  return { refresh };
}
