// Size limits of the stream routes.

/** The largest accepted append or initial body: 8 MiB, stored across 1 MiB rows. */
export const MAX_APPEND_BYTES = 8 * 1024 * 1024;
