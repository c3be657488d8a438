// The after-commit notifier every follower of a stream uses (fan-out publisher, watching
// subscriptions, data sinks): the call goes out after each commit, the safety-net alarm repeats it,
// and an alarm that fires in a new instance (the isolate died with the call in flight) repeats it too.
import { describe, expect, it } from "vitest";
import { AfterCommitNotifier } from "../../src/stream/after-commit-notifier";
import type { StreamMeta } from "../../src/stream/repository";

const meta = { name: "default/followed", tail: 42 } as StreamMeta;

function notifier(answers: boolean[] = []) {
  const calls: number[] = [];
  const background: Promise<unknown>[] = [];
  const ctx = { waitUntil: (promise: Promise<unknown>) => background.push(promise) } as unknown as DurableObjectState;
  const subject = new AfterCommitNotifier(ctx, () => {}, async (m) => {
    calls.push(m.tail);
    return answers.shift() ?? true;
  });
  return { subject, calls, background };
}

describe("the after-commit notifier", () => {
  it("tells the followers after a commit and once more from the safety-net alarm, then stops", async () => {
    const { subject, calls } = notifier();
    await subject.recheck(meta); // the first alarm of this instance (see below)
    calls.length = 0;
    subject.published(meta);
    expect(subject.dueAt()).not.toBeNull();
    await subject.recheck(meta);
    expect(calls).toEqual([42, 42]);
    expect(subject.dueAt()).toBeNull();
    await subject.recheck(meta); // an alarm for another task: nothing armed, nothing sent
    expect(calls).toEqual([42, 42]);
  });

  it("keeps the safety net armed while the repeat fails", async () => {
    const { subject, calls } = notifier([true, true, false]);
    await subject.recheck(meta);
    subject.published(meta);
    await subject.recheck(meta);
    expect(subject.dueAt()).not.toBeNull();
    await subject.recheck(meta);
    expect(calls).toEqual([42, 42, 42, 42]);
    expect(subject.dueAt()).toBeNull();
  });

  it("repeats the call on the first alarm of a new instance, which never saw the commit that armed it", async () => {
    const { subject, calls } = notifier();
    expect(subject.dueAt()).toBeNull();
    await subject.recheck(meta);
    expect(calls).toEqual([42]);
    await subject.recheck(meta);
    expect(calls).toEqual([42]);
  });
});
