// Data sinks' pure parts: cutting batches, the raw and CloudEvents envelopes, the retry schedule, and
// Standard Webhooks signatures as a receiver's library verifies them.
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { cutBatch } from "../../src/sinks/batch";
import { buildBody, eventId } from "../../src/sinks/envelope";
import { nextDelayMs, RETRY_AFTER_CAP_MS, RETRY_CAP_MS, retryAfterMs } from "../../src/sinks/retry";
import { newSinkSecret, signatureHeaders, webhookId } from "../../src/sinks/signing";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const whole = (...messages: string[]) => messages.map((message) => ({ data: bytes(message), messageEnd: true }));

describe("cutting a batch", () => {
  it("takes whole messages in order, with their source positions", () => {
    const batch = cutBatch(whole('{"a":1}', '{"b":2}'), 10);
    expect(batch.messages.map((m) => [m.position, text(m.data)])).toEqual([[10, '{"a":1}'], [17, '{"b":2}']]);
    expect(batch).toMatchObject({ from: 10, to: 24, more: false });
  });

  it("stops at the message bound and says more follows", () => {
    const batch = cutBatch(whole("1", "2", "3"), 0, { messages: 2, bytes: 1_000 });
    expect(batch.messages.map((m) => text(m.data))).toEqual(["1", "2"]);
    expect(batch).toMatchObject({ to: 2, more: true });
  });

  it("stops before the message that would pass the byte bound, but sends a single large message alone", () => {
    expect(cutBatch(whole("aaaa", "bbbb"), 0, { messages: 100, bytes: 6 })).toMatchObject({ to: 4, more: true });
    expect(cutBatch(whole("aaaaaaaa", "b"), 0, { messages: 100, bytes: 6 })).toMatchObject({ to: 8, more: true });
  });

  it("joins a message split across segments and leaves out one that does not end in the slice", () => {
    const segments = [
      { data: bytes("ab"), messageEnd: false },
      { data: bytes("cd"), messageEnd: true },
      { data: bytes("ef"), messageEnd: false },
    ];
    const batch = cutBatch(segments, 0);
    expect(batch.messages.map((m) => text(m.data))).toEqual(["abcd"]);
    expect(batch).toMatchObject({ to: 4, more: true });
  });
});

const base = { typePrefix: "com.acme.orders", source: "acme/orders", generation: 3, readAt: Date.UTC(2026, 0, 2, 3, 4, 5) };
const messages = [
  { position: 0, data: bytes('{"n":1e400}') },
  { position: 11, data: bytes('{"s":"\\u00e9"}') },
];

describe("envelopes", () => {
  it("raw JSON is the messages as one JSON array, each exactly as stored", () => {
    const body = buildBody({ ...base, envelope: "raw", contentType: "application/json", messages });
    expect(body.contentType).toBe("application/json");
    expect(text(body.bytes)).toBe('[{"n":1e400},{"s":"\\u00e9"}]');
  });

  it("raw bytes are the messages concatenated, with the source's content type", () => {
    const body = buildBody({ ...base, envelope: "raw", contentType: "text/plain; charset=utf-8", messages: [{ position: 0, data: bytes("ab") }, { position: 2, data: bytes("cd") }] });
    expect(body).toEqual({ bytes: bytes("abcd"), contentType: "text/plain; charset=utf-8" });
  });

  it("cloudevents carry one event per message with stable ids, the stream as source, and JSON data as stored", () => {
    const body = buildBody({ ...base, envelope: "cloudevents", contentType: "application/json", messages });
    expect(body.contentType).toBe("application/cloudevents-batch+json");
    expect(text(body.bytes)).toContain('"data":{"n":1e400}');
    const events = JSON.parse(text(body.bytes).replace("1e400", "1")) as Record<string, unknown>[];
    expect(events).toEqual([
      {
        specversion: "1.0",
        id: eventId(3, 0),
        source: "/v1/stream/acme/orders",
        type: "com.acme.orders.appended",
        time: "2026-01-02T03:04:05.000Z",
        datacontenttype: "application/json",
        data: { n: 1 },
      },
      expect.objectContaining({ id: eventId(3, 11), data: { s: "é" } }),
    ]);
    expect(eventId(3, 11)).toBe("3_0000000000000000_0000000000000011");
  });

  it("cloudevents of binary streams carry data_base64, of text streams the text", () => {
    const binary = buildBody({ ...base, envelope: "cloudevents", contentType: "application/octet-stream", messages: [{ position: 0, data: new Uint8Array([0, 255]) }] });
    expect(JSON.parse(text(binary.bytes))[0]).toMatchObject({ data_base64: "AP8=", datacontenttype: "application/octet-stream" });
    const plain = buildBody({ ...base, envelope: "cloudevents", contentType: "text/plain", messages: [{ position: 0, data: bytes("hi") }] });
    expect(JSON.parse(text(plain.bytes))[0]).toMatchObject({ data: "hi" });
  });
});

describe("the retry schedule", () => {
  it("doubles from 1 s with jitter between half and all of each step, up to 5 minutes", () => {
    expect([1, 2, 3, 4].map((n) => nextDelayMs(n, null, 1))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect([1, 2, 3, 4].map((n) => nextDelayMs(n, null, 0))).toEqual([500, 1_000, 2_000, 4_000]);
    expect(nextDelayMs(40, null, 1)).toBe(RETRY_CAP_MS);
  });

  it("honours Retry-After in seconds or as a date, capped at an hour", () => {
    const now = Date.UTC(2026, 0, 1);
    expect(retryAfterMs("7", now)).toBe(7_000);
    expect(retryAfterMs(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
    expect(retryAfterMs("soon", now)).toBeNull();
    expect(nextDelayMs(1, retryAfterMs("999999", now))).toBe(RETRY_AFTER_CAP_MS);
    expect(nextDelayMs(1, 7_000)).toBe(7_000);
    expect(nextDelayMs(1, null, 1)).toBe(1_000);
  });

  it("lets Retry-After lengthen the backoff, never shorten it; 0 and past dates mean the schedule", () => {
    const now = Date.UTC(2026, 0, 1);
    expect(retryAfterMs("0", now)).toBeNull();
    expect(retryAfterMs(new Date(now - 60_000).toUTCString(), now)).toBeNull();
    // The third attempt's step is 4 s: a receiver asking for 1 s (or nothing) waits at least 2 s.
    expect(nextDelayMs(3, retryAfterMs("1", now), 0)).toBe(2_000);
    expect(nextDelayMs(3, retryAfterMs("0", now), 0)).toBe(2_000);
    expect(nextDelayMs(3, 0, 1)).toBe(4_000);
  });
});

describe("Standard Webhooks signatures", () => {
  it("verify with the standardwebhooks library, and fail for other bytes or another secret", async () => {
    const secret = newSinkSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const body = '[{"n":1}]';
    const id = await webhookId("inc-1", 1, 0, 7);
    const headers = await signatureHeaders(secret, id, Date.now(), bytes(body));
    expect(headers["webhook-id"]).toBe(id);
    expect(new Webhook(secret).verify(body, headers)).toEqual([{ n: 1 }]);
    expect(() => new Webhook(secret).verify('[{"n":2}]', headers)).toThrow();
    expect(() => new Webhook(newSinkSecret()).verify(body, headers)).toThrow();
  });

  it("give a batch the same webhook-id every time, and other ranges, sinks or source generations other ids", async () => {
    const id = await webhookId("inc-1", 1, 0, 7);
    expect(await webhookId("inc-1", 1, 0, 7)).toBe(id);
    expect(await webhookId("inc-1", 1, 0, 8)).not.toBe(id);
    expect(await webhookId("inc-2", 1, 0, 7)).not.toBe(id);
    expect(await webhookId("inc-1", 2, 0, 7)).not.toBe(id);
  });
});
