// Sending to and closing a WebSocket that the client may close under us at any time.

/** Sending to a socket the client already left is a no-op: false then. */
export function sendQuietly(ws: WebSocket, frame: string): boolean {
  try {
    ws.send(frame);
    return true;
  } catch {
    return false;
  }
}

export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closing or closed.
  }
}
