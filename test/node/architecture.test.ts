// The source's shape, checked: folders depend on each other without runtime cycles, the layering rules
// hold for every import (type-only ones included), and Durable Object RPC methods take typed inputs.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = fileURLToPath(new URL("../../src/", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/**
 * A file's folder under src ("stream", "routes", ...); files at the top level are their own unit, and
 * so is each object's stub helper (`stream/stub.ts`): the address of an object, which any side may use
 * to call it without depending on the folder behind it.
 */
function unitOf(file: string): string {
  const rel = relative(src, file);
  if (rel.endsWith("/stub.ts")) return rel;
  return rel.includes("/") ? rel.slice(0, rel.indexOf("/")) : rel;
}

/**
 * Relative imports of a file. With `runtimeOnly`, only those that survive compilation: not
 * `import type`, and not made only of `type` names.
 */
function importsOf(file: string, runtimeOnly: boolean): string[] {
  const text = readFileSync(file, "utf8");
  const imports: string[] = [];
  for (const match of text.matchAll(/^(import|export)\s+(type\s+)?([^;]*?)\s+from\s+"(\.[^"]+)";/gms)) {
    const [, , typeOnly, clause = "", specifier = ""] = match;
    const names = clause.replace(/^[{\s]+|[}\s]+$/g, "").split(",").map((name) => name.trim()).filter(Boolean);
    const onlyTypes = Boolean(typeOnly) || (clause.trim().startsWith("{") && names.every((name) => name.startsWith("type ")));
    if (!runtimeOnly || !onlyTypes) imports.push(resolve(dirname(file), specifier.replace(/\.ts$/, "")) + ".ts");
  }
  return imports;
}

/**
 * Which folders each folder imports. The runtime graph (type-only imports left out, as the bundle
 * sees it) must have no cycle; the layering rules hold for every import, types included, since a
 * type reaching into another folder's internals couples the two as much as a value does.
 */
function folderGraph(runtimeOnly = false): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(src)) {
    const from = unitOf(file);
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    for (const target of importsOf(file, runtimeOnly)) {
      const to = unitOf(target);
      if (to !== from) edges.add(to);
    }
  }
  return graph;
}

/** One cycle in the graph as a path of units, or null. */
function findCycle(graph: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (unit: string): string[] | null => {
    if (state.get(unit) === "done") return null;
    if (state.get(unit) === "open") return [...path.slice(path.indexOf(unit)), unit];
    state.set(unit, "open");
    path.push(unit);
    for (const next of graph.get(unit) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(unit, "done");
    return null;
  };
  for (const unit of graph.keys()) {
    const cycle = visit(unit);
    if (cycle) return cycle;
  }
  return null;
}

describe("the source's architecture", () => {
  it("has no runtime import cycle between folders", () => {
    expect(findCycle(folderGraph(true))).toBeNull();
  });

  it("keeps env.ts the bindings type only, and each stub helper a leaf that imports nothing but types", () => {
    const graph = folderGraph();
    expect([...(graph.get("env.ts") ?? [])]).toEqual(["contract"]);
    const stubs = sourceFiles(src).filter((file) => file.endsWith("/stub.ts"));
    expect(stubs.map((file) => relative(src, file)).sort()).toEqual(["fanout/stub.ts", "projects/stub.ts", "sinks/stub.ts", "stream/stub.ts", "subscriptions/stub.ts"]);
    for (const file of stubs) expect(importsOf(file, true), relative(src, file)).toEqual([]);
  });

  it("lets only the app import the routes: no object, domain or contract module depends on HTTP handlers", () => {
    const graph = folderGraph();
    const importers = [...graph].filter(([unit, edges]) => unit !== "routes" && edges.has("routes")).map(([unit]) => unit);
    expect(importers).toEqual(["app.ts"]);
  });

  it("finds a cycle when there is one (the check itself works)", () => {
    const graph = new Map([
      ["a", new Set(["b"])],
      ["b", new Set(["c"])],
      ["c", new Set(["a"])],
    ]);
    expect(findCycle(graph)).toEqual(["a", "b", "c", "a"]);
  });

  it("keeps the stream side and the fan-out side apart: each imports only the contract of the other", () => {
    const graph = folderGraph();
    expect(graph.get("stream")?.has("fanout")).toBe(false);
    expect(graph.get("fanout")?.has("stream")).toBe(false);
    expect(graph.get("fanout")?.has("estuary")).toBe(false);
  });

  it("keeps the commit policy behind its own interface: it imports neither fan-out rounds nor the stream or estuary side", () => {
    const graph = folderGraph();
    for (const unit of ["fanout", "stream", "estuary", "sinks", "routes"]) expect(graph.get("commit")?.has(unit)).toBe(false);
    for (const file of sourceFiles(join(src, "commit"))) {
      const imports = [...readFileSync(file, "utf8").matchAll(/from\s+"(\.[^"]+)"/g)].map(([, specifier = ""]) => resolve(dirname(file), specifier));
      expect(imports.filter((target) => relative(src, target).startsWith("fanout/"))).toEqual([]);
    }
  });

  it("gives every public Durable Object RPC method a typed parameter, never unknown", () => {
    const objects = sourceFiles(src).filter((file) => /extends DurableObject</.test(readFileSync(file, "utf8")));
    expect(objects.map((file) => relative(src, file)).sort()).toEqual([
      "fanout/subscribers-do.ts",
      "projects/directory-do.ts",
      "projects/project-do.ts",
      "sinks/sink-do.ts",
      "stream/stream-do.ts",
      "subscriptions/subscription-do.ts",
      "subscriptions/webhook-key-do.ts",
    ]);
    for (const file of objects) {
      const untyped = [...readFileSync(file, "utf8").matchAll(/^ {2}async (\w+)\(([^)]*)\)/gm)].filter(([, , params = ""]) =>
        /:\s*(unknown|any)\b/.test(params),
      );
      expect(untyped.map(([, name]) => `${relative(src, file)} ${name}`)).toEqual([]);
    }
  });
});
