// JSON mode bodies: validation and splitting into messages (a top-level array is flattened once).
import { describe, expect, it } from "vitest";
import { splitJsonMessages } from "../../src/stream/json-messages";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function split(text: string, allowEmptyArray = false): string[] | string {
  const result = splitJsonMessages(encoder.encode(text), allowEmptyArray);
  return Array.isArray(result) ? result.map((message) => decoder.decode(message)) : result.code;
}

describe("splitJsonMessages", () => {
  it("keeps every literal exactly as sent, so no value changes on the way through", () => {
    expect(split("[12345678901234567890123, 1e400, 0.10, \"\\u00e9\"]")).toEqual([
      "12345678901234567890123",
      "1e400",
      "0.10",
      '"\\u00e9"',
    ]);
  });

  it("keeps whitespace inside strings, and commas and brackets inside strings do not split", () => {
    expect(split('[" a , ] b ", {"k": "[x, y]"}]')).toEqual(['" a , ] b "', '{"k":"[x, y]"}']);
    expect(split('["quote \\" , inside"]')).toEqual(['"quote \\" , inside"']);
  });

  it("stores a non-array value as one compact message", () => {
    expect(split('{ "a" : [1, 2] }')).toEqual(['{"a":[1,2]}']);
    expect(split("42")).toEqual(["42"]);
    expect(split('"text"')).toEqual(['"text"']);
  });

  it("flattens a top-level array into one message per element, and only one level", () => {
    expect(split('[1, {"b": 2}, [3, [4]], null]')).toEqual(["1", '{"b":2}', "[3,[4]]", "null"]);
  });

  it("accepts an empty array only when asked to", () => {
    expect(split("[]", true)).toEqual([]);
    expect(split("[]", false)).toBe("bad_request");
  });

  it.each(["", "{", "[1,]", "undefined", "{'a': 1}"])("rejects the invalid JSON %j", (text) => {
    expect(split(text)).toBe("bad_request");
  });

  it("rejects bytes that are not UTF-8", () => {
    const result = splitJsonMessages(new Uint8Array([0x22, 0xff, 0x22]), true);
    expect(Array.isArray(result) ? "split" : result.code).toBe("bad_request");
  });
});
