// @ts-check
// The open stream's presence panel: who is present, live (followPresence of /v1/client.js: the
// snapshot, then the presence log's change events), each user with their info's name, if any, and
// when they joined. Users are rendered as text.
import { followPresence } from "/v1/client.js";
import { addressPath, tokens } from "./api.js";

/** @typedef {import("../v1/presence.js").Member} Member */

/** @param {(id: string) => HTMLElement} element */
export function setUpPresence(element) {
  const list = element("present");
  const note = element("presence-note");
  /** @type {{ close(): void } | null} */
  let following = null;
  /** Counts watch() calls, so that a follow started for an earlier stream is dropped. */
  let generation = 0;

  /** @param {Map<string, Member>} users */
  function show(users) {
    const sorted = [...users.values()].sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
    list.replaceChildren(
      ...sorted.map((member) => {
        const item = document.createElement("li");
        item.dataset.user = member.user;
        const name = typeof member.info?.name === "string" ? ` (${member.info.name})` : "";
        item.textContent = `${member.user}${name} · since ${member.since.slice(11, 19)}`;
        return item;
      }),
    );
    note.textContent = users.size === 0 ? "Nobody is present." : `${users.size} present`;
  }

  return {
    /** @param {string | null} key "project/stream", or null for none */
    async watch(key) {
      following?.close();
      following = null;
      const mine = ++generation;
      list.replaceChildren();
      note.textContent = "";
      if (!key) return;
      try {
        const follow = await followPresence(addressPath(key, "/v1/presence"), {
          token: tokens.stream || undefined,
          onChange: (users) => {
            if (mine === generation) show(users);
          },
        });
        if (mine !== generation) return follow.close();
        following = follow;
      } catch (error) {
        if (mine === generation) note.textContent = `presence: ${error instanceof Error ? error.message : String(error)}`;
      }
    },
  };
}
