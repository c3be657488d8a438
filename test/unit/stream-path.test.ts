// Stream path mapping: /v1/stream/{stream} is project "default", /{project}/{stream} names one.
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/errors";
import { DEFAULT_PROJECT, parseAddress, parseStreamPath } from "../../src/protocol/stream-address";

function failureCode(parse: () => unknown): string | undefined {
  try {
    parse();
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
  return undefined;
}

describe("parseAddress", () => {
  it("puts a bare stream name in the default project", () => {
    expect(parseAddress("orders")).toEqual({ project: DEFAULT_PROJECT, stream: "orders", key: "default/orders" });
  });

  it("maps project/stream to that project, so the default project can be named explicitly", () => {
    expect(parseAddress("p1/orders")).toEqual({ project: "p1", stream: "orders", key: "p1/orders" });
    expect(parseAddress("default/orders").key).toBe(parseAddress("orders").key);
  });

  it("accepts every character of the name charset and names of 128 characters", () => {
    expect(parseAddress("A-z_0.9~x").stream).toBe("A-z_0.9~x");
    expect(parseAddress("n".repeat(128)).stream).toHaveLength(128);
  });

  it.each([
    ["a path with three segments", "a/b/c"],
    ["an empty name", ""],
    ["an empty stream after a project", "p/"],
    ["an empty project", "/x"],
    ["a space", "bad name"],
    ["a percent-encoded character", "bad%20name"],
    ["a non-ASCII character", "caf\u00e9"],
    ["a 129-character name", "n".repeat(129)],
    ["a 129-character project", `${"p".repeat(129)}/x`],
    ["a dot", "."],
    ["two dots", "p/.."],
  ])("rejects %s with 400", (_case, rest) => {
    expect(failureCode(() => parseAddress(rest))).toBe("bad_request");
  });
});

describe("parseStreamPath", () => {
  it("reads a stream path", () => {
    expect(parseStreamPath("/v1/stream/p1/orders").key).toBe("p1/orders");
    expect(parseStreamPath("/v1/stream/orders").key).toBe("default/orders");
  });

  it("reads the path of an absolute URL", () => {
    expect(parseStreamPath("https://example.com/v1/stream/p2/orders?x=1").key).toBe("p2/orders");
  });

  it.each([
    ["a path outside /v1/stream/", "/v2/stream/orders"],
    ["a bare name", "orders"],
    ["an unparsable URL", "http://[::1/v1/stream/x"],
    ["a path that is too deep", "/v1/stream/a/b/c"],
  ])("rejects %s with 400", (_case, value) => {
    expect(failureCode(() => parseStreamPath(value))).toBe("bad_request");
  });
});
