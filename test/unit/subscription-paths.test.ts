// Stream paths and patterns in subscription bodies: relative to the stream root, one project per pattern.
import { describe, expect, it } from "vitest";
import { parsePattern, parseStreamRef, patternCovers } from "../../src/subscriptions/paths";

describe("subscription paths and patterns", () => {
  it("reads `project/stream` and default-project `stream` paths", () => {
    expect(parseStreamRef("events/x")).toMatchObject({ path: "events/x", address: { project: "events", stream: "x", key: "events/x" } });
    expect(parseStreamRef("/x/")).toMatchObject({ path: "x", address: { key: "default/x" } });
    expect(parseStreamRef("default/x")).toMatchObject({ path: "x" });
    for (const bad of ["", "a/b/c", "a//b", "__ds/x", "__ds", "default/__ds", "a/..", "a b"]) expect(parseStreamRef(bad), bad).toBeNull();
  });

  it("reads patterns naming one project", () => {
    expect(parsePattern("events/*")).toEqual({ text: "events/*", project: "events", glob: "*" });
    expect(parsePattern("*")).toEqual({ text: "*", project: "default", glob: "*" });
    expect(parsePattern("events/**")).toMatchObject({ project: "events", glob: "**" });
    expect(parsePattern("events/orders")).toMatchObject({ project: "events", glob: "orders" });
    for (const bad of ["**", "*/x", "**/x", "a/b/c", "events/a*", "", "__ds/*"]) expect(parsePattern(bad), bad).toBeNull();
  });

  it("matches streams of the pattern's project only", () => {
    const events = parsePattern("events/*");
    const orders = parsePattern("events/orders");
    if (!events || !orders) throw new Error("patterns should parse");
    expect(patternCovers(events, "events/x")).toBe(true);
    expect(patternCovers(events, "other/x")).toBe(false);
    expect(patternCovers(orders, "events/orders")).toBe(true);
    expect(patternCovers(orders, "events/order")).toBe(false);
  });
});
