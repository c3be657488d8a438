// Grouping stored segments into whole messages, and each message's position in its stream.
import { describe, expect, it } from "vitest";
import { messagesOf, positionedMessages } from "../../src/contract/segments";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("positioned messages", () => {
  it("start each message where the one before it ended, joining a message split across segments", () => {
    const segments = [
      { data: bytes('{"a":1}'), messageEnd: true },
      { data: bytes('{"b":'), messageEnd: false },
      { data: bytes("22}"), messageEnd: true },
      { data: bytes("[3]"), messageEnd: true },
    ];
    expect(positionedMessages(100, segments)).toEqual([
      { position: 100, data: bytes('{"a":1}') },
      { position: 107, data: bytes('{"b":22}') },
      { position: 115, data: bytes("[3]") },
    ]);
    expect(messagesOf(segments)).toEqual([bytes('{"a":1}'), bytes('{"b":22}'), bytes("[3]")]);
  });

  it("keep a trailing part without an end as the last message, as messagesOf always has", () => {
    expect(positionedMessages(0, [{ data: bytes("ab"), messageEnd: true }, { data: bytes("cd"), messageEnd: false }])).toEqual([
      { position: 0, data: bytes("ab") },
      { position: 2, data: bytes("cd") },
    ]);
  });
});
