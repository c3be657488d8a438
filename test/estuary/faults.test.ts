// Fan-out under faults against wrangler dev: estuaries deleted mid-stream, and ranges delivered twice.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { DevServer } from "../support/wrangler-dev";
import {
  Api,
  mapLimit,
  pollUntil,
  startServer,
  stopServer,
  unique,
  waitForEstuaries,
  type FanoutStatusBody,
} from "./harness";

const JSON_TYPE = "application/json";
const project = "faults";
const START_OFFSET = "0000000000000000_0000000000000000";

let server: DevServer;
let api: Api;

beforeAll(async () => {
  server = await startServer();
  api = new Api(server.baseUrl);
});

afterAll(async () => {
  await stopServer(server);
});

async function subscribeMany(source: string, count: number): Promise<string[]> {
  await api.create(project, source, JSON_TYPE);
  const estuaries = Array.from({ length: count }, (_, index) => `${source}-e${index}`);
  await mapLimit(estuaries, 20, (estuary) => api.subscribeNew(project, source, estuary));
  return estuaries;
}

function waitForFannedOut(source: string, tail: string): Promise<FanoutStatusBody> {
  return pollUntil(
    `${source} fanned out to ${tail}`,
    () => api.status(project, source),
    (status) => status.fannedOutOffset === tail && status.targetOffset === tail && status.pendingRepairs === 0,
  );
}

/**
 * Runs SQL inside the source's StreamSubscribersDO through wrangler dev's local explorer API; the
 * statement executes in the object itself, between its other calls.
 */
async function sqlOnSubscribers(source: string, sql: string): Promise<void> {
  const explorer = `${server.baseUrl}/cdn-cgi/explorer/api/workers/durable_objects/namespaces`;
  const listing = (await (await fetch(explorer)).json()) as { result: { id: string; class: string }[] };
  const namespace = listing.result.find((entry) => entry.class === "StreamSubscribersDO");
  if (!namespace) throw new Error("the local explorer does not list StreamSubscribersDO");
  const response = await fetch(`${explorer}/${namespace.id}/query`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ durable_object_name: `${project}/${source}`, queries: [{ sql }] }),
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
}

describe("estuaries deleted while publishing continues", () => {
  for (const { count, mode } of [
    { count: 40, mode: "inline" },
    { count: 205, mode: "queue" },
  ] as const) {
    test(`with ${count} subscribers (${mode}): the rest get every message exactly once and the deleted ones are unsubscribed`, async () => {
      const source = unique(`del${count}`);
      const estuaries = await subscribeMany(source, count);
      expect((await api.status(project, source)).mode).toBe(mode);
      const doomed = estuaries.filter((_, index) => index % 4 === 1).slice(0, 10);
      const survivors = estuaries.filter((estuary) => !doomed.includes(estuary));

      const messages = Array.from({ length: 10 }, (_, seq) => ({ source, seq }));
      let markThirdPublished = () => {};
      const thirdPublished = new Promise<void>((resolve) => {
        markThirdPublished = resolve;
      });
      const publish = async () => {
        for (const [index, message] of messages.entries()) {
          await api.appendJson(project, source, message);
          if (index === 2) markThirdPublished();
        }
      };
      // The first messages go out to everyone; the deletes then race the rest of the publishing. With
      // 205 subscribers this also crosses the threshold back to inline while queued jobs are pending.
      const deleteDoomed = async () => {
        await thirdPublished;
        await mapLimit(doomed, 5, async (estuary) => {
          const response = await fetch(api.streamUrl(project, estuary), { method: "DELETE" });
          await response.body?.cancel();
          expect(response.status, `DELETE ${estuary}`).toBe(204);
        });
      };
      await Promise.all([publish(), deleteDoomed()]);

      const tally = await waitForEstuaries(api, project, survivors, messages, 60_000);
      process.stdout.write(
        `faults: mode=${mode} subscribers=${count} deleted=${doomed.length} survivors checked=${survivors.length} ` +
          `exact=${tally.exact} duplicates=${tally.duplicates} missing=${tally.missing} unexpected=${tally.unexpected}\n`,
      );
      expect(tally).toEqual({ exact: survivors.length, duplicates: 0, missing: 0, unexpected: 0 });
      const status = await pollUntil(
        `${source} to count ${survivors.length} subscribers`,
        () => api.status(project, source),
        (value) => value.subscribers === survivors.length,
      );
      expect(status.subscribers).toBe(survivors.length);
      for (const estuary of doomed) {
        const read = await fetch(`${api.streamUrl(project, estuary)}?offset=-1`);
        await read.body?.cancel();
        expect(read.status, `${estuary} after DELETE`).toBe(404);
      }
    }, 180_000);
  }
});

describe("a range delivered twice", () => {
  test('re-subscribing every estuary with from "-1" after delivery duplicates nothing', async () => {
    const source = unique("resub");
    const estuaries = await subscribeMany(source, 30);
    const first = [{ n: 1 }, { n: 2 }];
    await api.append(project, source, JSON_TYPE, JSON.stringify(first));
    expect(await waitForEstuaries(api, project, estuaries, first)).toMatchObject({ exact: estuaries.length });

    const statuses = await mapLimit(estuaries, 10, async (estuary) => {
      const response = await api.subscribe(project, source, { estuaryId: estuary, from: "-1" });
      await response.body?.cancel();
      return response.status;
    });
    expect(new Set(statuses)).toEqual(new Set([200]));
    const all = [...first, { n: 3 }];
    const tail = await api.appendJson(project, source, { n: 3 });
    await waitForFannedOut(source, tail);
    const tally = await waitForEstuaries(api, project, estuaries, all);
    expect(tally).toEqual({ exact: estuaries.length, duplicates: 0, missing: 0, unexpected: 0 });
  });

  for (const { count, mode } of [
    { count: 20, mode: "inline" },
    { count: 201, mode: "queue" },
  ] as const) {
    test(`with ${count} subscribers (${mode}): re-running fan-out over delivered ranges adds nothing to any estuary`, async () => {
      const source = unique(`replay${count}`);
      const estuaries = await subscribeMany(source, count);
      expect((await api.status(project, source)).mode).toBe(mode);
      const first = [{ n: 1 }, { n: 2 }, { n: 3 }];
      const tail = await api.append(project, source, JSON_TYPE, JSON.stringify(first));
      expect(await waitForEstuaries(api, project, estuaries, first)).toMatchObject({ exact: count });
      await waitForFannedOut(source, tail);

      // 1. Rewind fan-out to the start and wake it: the very same range [0, tail) goes to the same
      //    estuaries again (for the queue, the same jobs). A new subscriber at the tail is the wake-up.
      await sqlOnSubscribers(source, "UPDATE fanout SET cohort_pos = 0");
      expect((await api.status(project, source)).fannedOutOffset).toBe(START_OFFSET);
      await api.subscribeNew(project, source, `${source}-late`, "now");
      await waitForFannedOut(source, tail);

      // 2. Rewind again and publish: the range [0, new tail) overlaps what every estuary holds, and
      //    only that round carries the new message, so its arrival proves the replay was processed.
      await sqlOnSubscribers(source, "UPDATE fanout SET cohort_pos = 0");
      const all = [...first, { n: 4 }];
      const newTail = await api.appendJson(project, source, { n: 4 });
      const tally = await waitForEstuaries(api, project, estuaries, all, 60_000);
      process.stdout.write(
        `faults: replay mode=${mode} estuaries=${count} exact=${tally.exact} ` +
          `duplicates=${tally.duplicates} missing=${tally.missing} unexpected=${tally.unexpected}\n`,
      );
      expect(tally).toEqual({ exact: count, duplicates: 0, missing: 0, unexpected: 0 });
      await waitForFannedOut(source, newTail);
      // The late subscriber joined at the old tail, so it holds only the new message.
      expect(await api.readJson(project, `${source}-late`)).toEqual([{ n: 4 }]);
    }, 180_000);
  }
});
