// Read payloads: what a catch-up or SSE read sends, in byte mode and JSON mode.
import { describe, expect, it } from "vitest";
import { renderPayload } from "../../src/stream/payload";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const segment = (text: string, messageEnd = true) => ({ data: encoder.encode(text), messageEnd });

describe("renderPayload", () => {
  it("joins a byte stream's segments as they are", () => {
    const body = renderPayload("text/plain", [segment("ab", false), segment("c"), segment("d")]);
    expect(decoder.decode(body)).toBe("abcd");
  });

  it("renders JSON messages as one array, keeping a message split over rows whole", () => {
    const body = renderPayload("application/json", [segment('{"a":'), segment("1}"), segment('"x'), segment('"')].map((s, i) => ({ ...s, messageEnd: i % 2 === 1 })));
    expect(decoder.decode(body)).toBe('[{"a":1},"x"]');
    expect(JSON.parse(decoder.decode(body))).toEqual([{ a: 1 }, "x"]);
  });

  it("renders no JSON messages as an empty array and one message without commas", () => {
    expect(decoder.decode(renderPayload("application/json", []))).toBe("[]");
    expect(decoder.decode(renderPayload("application/json; charset=utf-8", [segment("[1,2]")]))).toBe("[[1,2]]");
  });
});
