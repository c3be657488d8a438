// Long-poll cursors (protocol §8.1): 20 s buckets that always move past a client's cursor.
import { afterEach, describe, expect, it, vi } from "vitest";
import { nextCursor } from "../../src/protocol/cursor";

const CURSOR_EPOCH = Date.UTC(2024, 9, 9);
const BUCKET = 250_000;
const now = CURSOR_EPOCH + BUCKET * 20_000 + 7_000;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("nextCursor", () => {
  it("is the current 20-second interval since 2024-10-09 when the client sends none", () => {
    expect(nextCursor(undefined, now)).toBe(String(BUCKET));
    expect(nextCursor(undefined, now + 13_000)).toBe(String(BUCKET + 1));
  });

  it("is only decimal digits", () => {
    expect(nextCursor(undefined)).toMatch(/^\d+$/);
  });

  it("returns the current interval to a client whose cursor is behind", () => {
    expect(nextCursor(String(BUCKET - 3), now)).toBe(String(BUCKET));
  });

  it.each([
    ["smallest", 0],
    ["largest", 0.999_999],
  ])("is strictly greater than a client cursor at or ahead of now (%s jitter)", (_jitter, random) => {
    vi.spyOn(Math, "random").mockReturnValue(random);
    for (const client of [BUCKET, BUCKET + 50]) {
      const next = Number(nextCursor(String(client), now));
      expect(next).toBeGreaterThan(client);
      expect(next).toBeLessThanOrEqual(client + 180);
    }
  });

  it.each(["abc", "-5", "1e9", "12.5", "1234567890123456"])("ignores the unusable client cursor %j", (client) => {
    expect(nextCursor(client, now)).toBe(String(BUCKET));
  });
});
