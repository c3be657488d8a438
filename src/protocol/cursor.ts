// Long-poll / SSE cursors (protocol §8.1): 20 s time buckets that never go backwards for a client.

const CURSOR_EPOCH_MS = Date.UTC(2024, 9, 9);
const INTERVAL_MS = 20_000;
/** Jitter of 1-3600 s, expressed in whole intervals. */
const MAX_JITTER_INTERVALS = 3600 / 20;

export function nextCursor(clientCursor: string | undefined, now = Date.now()): string {
  const current = Math.floor((now - CURSOR_EPOCH_MS) / INTERVAL_MS);
  const client = clientCursor && /^\d{1,15}$/.test(clientCursor) ? Number(clientCursor) : -1;
  if (client < current) return String(current);
  const jitter = 1 + Math.floor(Math.random() * MAX_JITTER_INTERVALS);
  return String(client + jitter);
}
