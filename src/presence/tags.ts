// The tags a presence socket is accepted with. The Hibernation API keeps a socket's tags with it
// across hibernation and eviction, and finds sockets by tag; a restart drops both.
/** Marks a socket that counts for presence. */
export const PRESENCE_TAG = "presence";
const USER_TAG_PREFIX = "presence-user:";
const ACCEPTED_TAG_PREFIX = "presence-accepted:";

/** User ids are at most 128 characters, and a tag may have 256. */
export function presenceTags(user: string, acceptedAt: number): string[] {
  return [PRESENCE_TAG, `${USER_TAG_PREFIX}${user}`, `${ACCEPTED_TAG_PREFIX}${acceptedAt}`];
}

export function taggedUser(tags: readonly string[]): string | null {
  const tag = tags.find((t) => t.startsWith(USER_TAG_PREFIX));
  return tag === undefined ? null : tag.slice(USER_TAG_PREFIX.length);
}

/** When the socket was accepted (ms since epoch), or 0 if it carries no such tag. */
export function taggedAcceptedAt(tags: readonly string[]): number {
  const tag = tags.find((t) => t.startsWith(ACCEPTED_TAG_PREFIX));
  return tag === undefined ? 0 : Number(tag.slice(ACCEPTED_TAG_PREFIX.length));
}
