// Offset tokens: formatting, parsing of client input, and that string order is stream order.
import { describe, expect, it } from "vitest";
import { formatOffset, parseOffset } from "../../src/protocol/offsets";

const positions = [0, 1, 9, 10, 99, 100, 1_048_575, 1_048_576, 8_388_608, 2 ** 40, Number.MAX_SAFE_INTEGER];

describe("formatOffset", () => {
  it("writes a zero reserved part and a zero-padded 16-digit position", () => {
    expect(formatOffset(0)).toBe("0000000000000000_0000000000000000");
    expect(formatOffset(1234)).toBe("0000000000000000_0000000000001234");
    expect(formatOffset(Number.MAX_SAFE_INTEGER)).toBe("0000000000000000_9007199254740991");
  });

  it("sorts as strings in the same order as the positions it encodes", () => {
    const shuffled = [...positions].reverse().map(formatOffset);
    expect(shuffled.toSorted()).toEqual(positions.map(formatOffset));
    for (const a of positions) {
      for (const b of positions) expect(formatOffset(a) < formatOffset(b)).toBe(a < b);
    }
  });
});

describe("parseOffset", () => {
  it("reads back every offset it formats", () => {
    for (const position of positions) expect(parseOffset(formatOffset(position))).toEqual({ kind: "at", position });
  });

  it("understands -1 as the start and now as the tail", () => {
    expect(parseOffset("-1")).toEqual({ kind: "start" });
    expect(parseOffset("now")).toEqual({ kind: "now" });
  });

  it.each([
    "",
    "0",
    "-2",
    "NOW",
    "abc",
    " 0000000000000000_0000000000000000",
    "0000000000000000-0000000000000000",
    "0000000000000000_000000000000001",
    "0000000000000000_00000000000000001",
    "0000000000000000_000000000000000a",
    "0000000000000001_0000000000000000",
    "0000000000000000_9999999999999999",
  ])("rejects the malformed offset %j", (raw) => {
    expect(parseOffset(raw)).toBeNull();
  });
});
