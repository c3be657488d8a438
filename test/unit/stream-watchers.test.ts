// A stream watched by more subscriptions than one invocation may call is told in turns: each append
// (or alarm) tells the next `budget` watchers, and the safety net stays armed until every watcher
// has been told the latest tail.
import { describe, expect, it } from "vitest";
import type { Watcher } from "../../src/contract/subscriptions";
import type { Env } from "../../src/env";
import type { StreamMeta, StreamRepository } from "../../src/stream/repository";
import { StreamWatchers } from "../../src/stream/watchers";

const meta = (tail: number) => ({ name: "default/watched", tail }) as StreamMeta;

function watched(count: number, budget: number) {
  const told: string[] = [];
  const subscriptions = { getByName: (id: string) => ({ streamAppended: async () => (told.push(id), "ok") }) };
  const env = { SUBSCRIPTIONS: subscriptions } as unknown as Env;
  const background: Promise<unknown>[] = [];
  const ctx = { waitUntil: (promise: Promise<unknown>) => background.push(promise) } as unknown as DurableObjectState;
  const list: Watcher[] = Array.from({ length: count }, (_, i) => ({ subscription: `sub-${i}`, incarnation: "i" }));
  const repo = { watchers: () => list } as unknown as StreamRepository;
  const watchers = new StreamWatchers(env, ctx, repo, () => {});
  watchers.load();
  watchers.budget = budget;
  const settle = async () => {
    while (background.length > 0) await background.shift();
  };
  return { watchers, told, settle };
}

describe("telling a stream's watchers", () => {
  it("calls at most `budget` watchers per invocation and the rest from the safety net, each once", async () => {
    const { watchers, told, settle } = watched(5, 2);
    await watchers.recheck(meta(0)); // the first alarm of an instance tells everyone, in turns too
    told.length = 0;
    await settle();

    watchers.published(meta(10));
    await settle();
    expect(told).toEqual(["sub-0", "sub-1"]);
    expect(watchers.dueAt()).not.toBeNull();
    await watchers.recheck(meta(10));
    expect(told).toEqual(["sub-0", "sub-1", "sub-2", "sub-3"]);
    await watchers.recheck(meta(10));
    expect(told.sort()).toEqual(["sub-0", "sub-1", "sub-2", "sub-3", "sub-4"]);
    expect(watchers.dueAt()).toBeNull();
  });

  it("tells everyone in one call when they fit the budget", async () => {
    const { watchers, told, settle } = watched(3, 10);
    await watchers.recheck(meta(0));
    told.length = 0;
    watchers.published(meta(7));
    await settle();
    expect(told.sort()).toEqual(["sub-0", "sub-1", "sub-2"]);
  });
});
