// Appends carried by publish calls: a fan-out round may use them only for exactly the range it needs.
import { describe, expect, it } from "vitest";
import { RecentAppends } from "../../src/fanout/recent-appends";

const bytes = (text: string) => new TextEncoder().encode(text);
const texts = (slice: { segments: { data: Uint8Array }[] } | null) =>
  slice?.segments.map((segment) => new TextDecoder().decode(segment.data)) ?? null;

describe("RecentAppends", () => {
  it("hands on contiguous appends as one slice of whole messages", () => {
    const recent = new RecentAppends();
    recent.add(0, 3, [bytes("abc")]);
    recent.add(3, 7, [bytes("de"), bytes("fg")]);
    const slice = recent.slice(0, 7);
    expect(texts(slice)).toEqual(["abc", "de", "fg"]);
    expect(slice?.next).toBe(7);
    expect(slice?.segments.every((segment) => segment.messageEnd)).toBe(true);
    expect(texts(recent.slice(3, 7))).toEqual(["de", "fg"]);
  });

  it("answers nothing for a range it does not hold exactly", () => {
    const recent = new RecentAppends();
    recent.add(10, 13, [bytes("abc")]);
    recent.add(13, 15, [bytes("de")]);
    expect(recent.slice(0, 15)).toBeNull(); // starts before what is held
    expect(recent.slice(11, 15)).toBeNull(); // starts inside an append
    expect(recent.slice(10, 14)).toBeNull(); // ends inside an append
    expect(recent.slice(10, 20)).toBeNull(); // reaches past what is held
  });

  it("starts over when a publish does not continue the last one (a lost or reordered publish)", () => {
    const recent = new RecentAppends();
    recent.add(0, 3, [bytes("abc")]);
    recent.add(5, 6, [bytes("f")]);
    expect(recent.slice(0, 6)).toBeNull();
    expect(texts(recent.slice(5, 6))).toEqual(["f"]);
  });

  it("forgets appends that end at or before the range asked for", () => {
    const recent = new RecentAppends();
    recent.add(0, 3, [bytes("abc")]);
    recent.add(3, 4, [bytes("d")]);
    expect(texts(recent.slice(3, 4))).toEqual(["d"]);
    expect(recent.slice(0, 4)).toBeNull();
  });

  it("holds at most 1 MiB, dropping the oldest appends", () => {
    const recent = new RecentAppends();
    const half = new Uint8Array(512 * 1024);
    recent.add(0, half.length, [half]);
    recent.add(half.length, 2 * half.length, [half]);
    recent.add(2 * half.length, 2 * half.length + 1, [bytes("x")]);
    expect(recent.slice(0, 2 * half.length + 1)).toBeNull();
    expect(recent.slice(half.length, 2 * half.length + 1)?.segments).toHaveLength(2);
  });
});
