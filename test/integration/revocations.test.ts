// Revoking a project secret closes the WebSockets of the tokens it signed: the ProjectDO sweeps the
// streams holding sockets, at once and again after the auth cache time, a bounded page per alarm.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { projectStub } from "../../src/projects/stub";
import type { ProjectDO } from "../../src/projects/project-do";
import type { Revoked } from "../../src/projects/token-revocations";

interface Inspectable {
  revocations: { callsPerAlarm: number };
  closeSockets: (stream: string, target: Revoked) => Promise<void>;
}

/** The calls the project made, recorded in place of the streams' closeRevokedSockets. */
const told: { stream: string; kid: string }[] = [];

afterEach(() => {
  vi.useRealTimers();
});

describe("revoking a secret", () => {
  it("tells every stream holding sockets, at most the budget per alarm, twice", async () => {
    const name = "revoke-budget";
    const project = projectStub(env, name);
    const created = await project.create(name, []);
    if (!created.ok) throw new Error(created.message);
    await project.addSecret();
    const streams = ["a", "b", "c", "d", "e"];
    for (const stream of streams) await project.reportSockets({ stream, open: 1 });
    await runInDurableObject(project, (instance: ProjectDO) => {
      const inspectable = instance as unknown as Inspectable;
      inspectable.revocations.callsPerAlarm = 2;
      inspectable.closeSockets = async (stream, target) => {
        told.push({ stream, kid: target.value });
      };
    });

    expect(await project.revokeSecret(created.kid)).toEqual({ ok: true });
    /** Runs alarms until `count` calls have been made; answers how many each alarm made. */
    const alarmsUntil = async (count: number): Promise<number[]> => {
      const perAlarm: number[] = [];
      while (told.length < count && perAlarm.length < 10) {
        const before = told.length;
        expect(await runDurableObjectAlarm(project)).toBe(true);
        perAlarm.push(told.length - before);
      }
      return perAlarm;
    };
    expect(await alarmsUntil(streams.length)).toEqual([2, 2, 1]);
    expect(told).toEqual(streams.map((stream) => ({ stream, kid: created.kid })));

    // The second sweep waits for the auth cache time (AUTH_CACHE_MS, 10 s) to pass.
    expect(await runDurableObjectAlarm(project)).toBe(true);
    expect(told).toHaveLength(streams.length);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 11_001);
    expect(await alarmsUntil(2 * streams.length)).toEqual([2, 2, 1]);
    expect(told.slice(streams.length)).toEqual(streams.map((stream) => ({ stream, kid: created.kid })));
    expect(await runDurableObjectAlarm(project)).toBe(false);
  });
});
