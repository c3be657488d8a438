// The plain sentences a 400 carries for each kind of validation failure: the field's path and its
// rule, never zod's wording ("✖", "expected string, received number").
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ApiError } from "../../src/errors";
import { parseOr400 } from "../../src/validation";

const Policy = z
  .strictObject({
    mode: z.enum(["required", "quorum", "all"]),
    quorum: z.number().int().min(1).max(1_000_000).optional(),
    name: z.string().min(1).max(8).optional(),
    tags: z.array(z.string()).max(2).optional(),
    url: z.url().optional(),
    nested: z.object({ items: z.array(z.object({ on: z.boolean() })) }).optional(),
    either: z.union([z.string(), z.number()]).optional(),
    live: z.enum(["sse", "ws"], { error: "live must be sse or ws" }).optional(),
  })
  .refine((policy) => (policy.mode === "quorum") === (policy.quorum !== undefined), "quorum (a count) goes with mode quorum, and only with it");

function messageOf(value: unknown, subject?: string): string {
  try {
    parseOr400(Policy, value, subject);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    expect(error.code).toBe("bad_request");
    return error.message;
  }
  throw new Error("expected the value to be refused");
}

describe("plain validation messages", () => {
  it("names an enum's allowed values", () => {
    expect(messageOf({ mode: "most" })).toBe("`mode` must be one of required, quorum, all");
  });

  it("states a number's whole rule, whichever part of it was broken", () => {
    const rule = "`quorum` must be an integer from 1 to 1000000";
    expect(messageOf({ mode: "quorum", quorum: 0 })).toBe(rule);
    expect(messageOf({ mode: "quorum", quorum: 1_000_001 })).toBe(rule);
    expect(messageOf({ mode: "quorum", quorum: 1.5 })).toBe(rule);
  });

  it("names the expected and the received type in words", () => {
    expect(messageOf({ mode: "quorum", quorum: "3" })).toBe("`quorum` must be a number, not a string");
    expect(messageOf("policy")).toBe("the request body must be a JSON object, not a string");
    expect(messageOf(null, "the policy")).toBe("the policy must be a JSON object, not null");
    expect(messageOf({})).toBe("`mode` is required");
  });

  it("states string lengths and list sizes", () => {
    expect(messageOf({ mode: "all", name: "" })).toBe("`name` must be 1 to 8 characters");
    expect(messageOf({ mode: "all", name: "much-too-long" })).toBe("`name` must be 1 to 8 characters");
    expect(messageOf({ mode: "all", tags: ["a", "b", "c"] })).toBe("`tags` must be a list of at most 2 items");
  });

  it("lists unrecognized keys", () => {
    expect(messageOf({ mode: "all", extra: 1, more: 2 })).toBe("the request body has unknown fields `extra`, `more`");
  });

  it("keeps a refine's own message and a schema's own error", () => {
    expect(messageOf({ mode: "quorum" })).toBe("quorum (a count) goes with mode quorum, and only with it");
    expect(messageOf({ mode: "all", live: "poll" })).toBe("live must be sse or ws");
  });

  it("paths into nested objects and arrays, formats and unions, and joins several issues", () => {
    expect(messageOf({ mode: "all", nested: { items: [{ on: true }, { on: 1 }] } })).toBe("`nested.items[1].on` must be true or false, not a number");
    expect(messageOf({ mode: "all", url: "not a url" })).toBe("`url` must be a URL");
    expect(messageOf({ mode: "all", either: true })).toBe("`either` must be a string or a number");
    expect(messageOf({ mode: "most", name: "" })).toBe("`mode` must be one of required, quorum, all; `name` must be 1 to 8 characters");
  });

  it("never carries zod's own wording", () => {
    const samples = [{ mode: "x" }, { mode: "quorum", quorum: "3" }, { mode: "all", extra: 1 }, 7, [], { mode: "all", tags: "a" }];
    for (const value of samples) {
      const message = messageOf(value);
      expect(message).not.toMatch(/✖|Invalid input|Invalid option|expected \w+, received|Too (small|big)|Unrecognized key/);
    }
  });
});
