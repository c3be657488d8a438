// Plain words for an outbound webhook POST that failed (data sinks and `__ds` webhook
// subscriptions), shown to users as `lastError` / `last_error` and in the attempts.
// The runtime's fetch errors say little, and carry no `cause`:
// - a refused or reset connection throws `Error("Network connection lost.")` (`retryable: true`);
//   the two cannot be told apart;
// - a failed DNS lookup or TLS handshake throws `Error("internal error; reference = <id>")`; the
//   real cause ("failed to lookup address information", "TLS handshake failed") is only in the
//   runtime's own log, under that id;
// - the timeout signal throws a `TimeoutError` DOMException.
// Other runtimes (and later versions) may name the cause in the message or a Node-style `cause`
// with a `code`; those shapes are read too. Anything unknown keeps its message, as is.

/** Longer descriptions are cut: they are stored with every attempt. */
const MAX_DESCRIPTION = 500;

/**
 * Names under these top-level domains never resolve in public DNS (RFC 2606, RFC 6761), so a
 * failure to reach one is certainly a DNS failure, whatever the runtime hides.
 */
const RESERVED_TLDS = ["invalid", "test", "example"];

/** What a receiver's answer other than 2xx means; `manual` redirects arrive as 3xx answers. */
export function describeAnswer(status: number): string {
  if (status >= 300 && status < 400) return `receiver answered ${status} (a redirect; redirects are not followed)`;
  return `receiver answered ${status}`;
}

/** What went wrong when a POST to `url` threw instead of answering, given the timeout it had. */
export function describeFetchFailure(error: unknown, url: string, timeoutMs: number): string {
  return describe(error, url, timeoutMs).slice(0, MAX_DESCRIPTION);
}

function describe(error: unknown, url: string, timeoutMs: number): string {
  const name = errorName(error);
  if (name === "TimeoutError" || name === "AbortError") return `the receiver did not answer within ${duration(timeoutMs)}`;
  const { host, hostPort } = target(url);
  const message = messageOf(error);
  const code = causeCode(error);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || /failed to lookup address|getaddrinfo|name or service not known|no such host/i.test(message)) {
    return `could not reach the receiver (DNS lookup failed for ${host})`;
  }
  if (code === "ECONNREFUSED" || /connection refused/i.test(message)) return `connection refused by ${hostPort}`;
  if (code === "ECONNRESET" || /connection reset/i.test(message)) return `connection reset by ${hostPort} before it answered`;
  if (code === "ETIMEDOUT" || /timed out/i.test(message)) return `could not connect to ${hostPort} (timed out)`;
  if (/tls|certificate|handshake/i.test(message)) return `TLS handshake with ${host} failed: ${message}`;
  if (/^network connection lost/i.test(message)) return `connection refused by ${hostPort}, or lost before it answered`;
  if (/^internal error; reference = /i.test(message)) {
    if (isReserved(host)) return `could not reach the receiver (DNS lookup failed for ${host}: a reserved name that never resolves)`;
    const reference = message.replace(/^internal error; reference = /i, "").trim();
    const causes = isIpLiteral(host) ? "connection or TLS handshake failed" : "DNS lookup, connection or TLS handshake failed";
    return `could not reach the receiver at ${host} (${causes}; the runtime logs the cause under reference ${reference})`;
  }
  return message ? `could not reach the receiver: ${message}` : "could not reach the receiver";
}

function errorName(error: unknown): string {
  return typeof error === "object" && error !== null && "name" in error && typeof error.name === "string" ? error.name : "";
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") return error.message;
  return String(error);
}

/** A Node-style `cause.code` (`ECONNREFUSED`, `ENOTFOUND`, ...), or "". */
function causeCode(error: unknown): string {
  const cause: unknown = typeof error === "object" && error !== null && "cause" in error ? error.cause : undefined;
  return typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : "";
}

function target(url: string): { host: string; hostPort: string } {
  try {
    const parsed = new URL(url);
    const port = parsed.port || (parsed.protocol === "http:" ? "80" : "443");
    return { host: parsed.hostname, hostPort: `${parsed.hostname}:${port}` };
  } catch {
    return { host: url, hostPort: url };
  }
}

function isReserved(host: string): boolean {
  const tld = host.toLowerCase().replace(/\.$/, "").split(".").pop() ?? "";
  return RESERVED_TLDS.includes(tld);
}

function isIpLiteral(host: string): boolean {
  return host.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

function duration(ms: number): string {
  return ms % 1_000 === 0 ? `${ms / 1_000} s` : `${ms} ms`;
}
