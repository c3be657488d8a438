// Plain words for a failed webhook POST, over the error shapes the runtime actually throws (see
// src/fetch-failure.ts) and the Node-style shapes other runtimes use.
import { describe, expect, it } from "vitest";
import { describeAnswer, describeFetchFailure } from "../../src/fetch-failure";

const TIMEOUT = 10_000;
/** The runtime's errors: a plain Error with `remote` (and `retryable`) set, no `cause`. */
const runtimeError = (message: string, retryable?: boolean) => Object.assign(new Error(message), { remote: true, ...(retryable === undefined ? {} : { retryable }) });
const nodeError = (code: string) => Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error(code), { code }) });

describe("describing a failed fetch", () => {
  it("names the port of a refused or lost connection", () => {
    expect(describeFetchFailure(runtimeError("Network connection lost.", true), "http://127.0.0.1:9/hook", TIMEOUT)).toBe("connection refused by 127.0.0.1:9, or lost before it answered");
    expect(describeFetchFailure(nodeError("ECONNREFUSED"), "http://127.0.0.1:9/hook", TIMEOUT)).toBe("connection refused by 127.0.0.1:9");
    expect(describeFetchFailure(nodeError("ECONNRESET"), "https://hooks.example.com/x", TIMEOUT)).toBe("connection reset by hooks.example.com:443 before it answered");
  });

  it("turns the runtime's opaque internal error into what it can be, keeping its reference", () => {
    const hidden = runtimeError("internal error; reference = vtvcna32j2693ge06l8eson9");
    expect(describeFetchFailure(hidden, "https://hooks.example.invalid/x", TIMEOUT)).toBe("could not reach the receiver (DNS lookup failed for hooks.example.invalid: a reserved name that never resolves)");
    expect(describeFetchFailure(hidden, "https://hooks.acme.com/x", TIMEOUT)).toBe(
      "could not reach the receiver at hooks.acme.com (DNS lookup, connection or TLS handshake failed; the runtime logs the cause under reference vtvcna32j2693ge06l8eson9)",
    );
    // An address needs no lookup.
    expect(describeFetchFailure(hidden, "https://203.0.114.7/x", TIMEOUT)).toMatch(/^could not reach the receiver at 203\.0\.114\.7 \(connection or TLS handshake failed;/);
    expect(describeFetchFailure(hidden, "https://x.test/", TIMEOUT)).not.toContain("internal error");
  });

  it("reads a DNS failure from a message or a cause code", () => {
    const logged = new Error("failed to lookup address information: Name or service not known");
    expect(describeFetchFailure(logged, "https://hooks.acme.com/x", TIMEOUT)).toBe("could not reach the receiver (DNS lookup failed for hooks.acme.com)");
    expect(describeFetchFailure(nodeError("ENOTFOUND"), "https://hooks.acme.com/x", TIMEOUT)).toBe("could not reach the receiver (DNS lookup failed for hooks.acme.com)");
  });

  it("says how long the receiver had when the timeout fired", () => {
    expect(describeFetchFailure(new DOMException("The operation was aborted due to timeout", "TimeoutError"), "https://a.example.com/", TIMEOUT)).toBe("the receiver did not answer within 10 s");
    expect(describeFetchFailure(new DOMException("aborted", "AbortError"), "https://a.example.com/", 2_500)).toBe("the receiver did not answer within 2500 ms");
  });

  it("names a TLS failure, and keeps any other message as it is", () => {
    expect(describeFetchFailure(new Error("TLS handshake failed: invalid peer certificate"), "https://a.example.com/", TIMEOUT)).toBe("TLS handshake with a.example.com failed: TLS handshake failed: invalid peer certificate");
    expect(describeFetchFailure(new Error("something new"), "https://a.example.com/", TIMEOUT)).toBe("could not reach the receiver: something new");
    expect(describeFetchFailure("a string", "https://a.example.com/", TIMEOUT)).toBe("could not reach the receiver: a string");
    expect(describeFetchFailure(new Error("x".repeat(2_000)), "https://a.example.com/", TIMEOUT)).toHaveLength(500);
  });

  it("describes answers, saying a redirect was not followed", () => {
    expect(describeAnswer(503)).toBe("receiver answered 503");
    expect(describeAnswer(302)).toBe("receiver answered 302 (a redirect; redirects are not followed)");
  });
});
