// Baseline: the cheapest requests each server answers, so append and read figures can be read against its floor.
import { Client } from "../load.ts";
import type { Figure, ScenarioContext } from "../model.ts";
import { createStream, OCTET, streamPath } from "../protocol.ts";
import { figures, measure } from "./appends.ts";

/**
 * `GET /`: ours answers from the Worker alone (no Durable Object); the reference answers 404 from
 * a map lookup. `HEAD` of a stream: ours makes one Durable Object call that reads, no write.
 */
export async function requestFloor(ctx: ScenarioContext): Promise<Figure[]> {
  const all: Figure[] = [];
  const answered = (status: number) => status < 500;
  for (const concurrency of ctx.profile.floorConcurrency) {
    const client = new Client(ctx.target.baseUrl, concurrency);
    try {
      const stream = `floor-c${concurrency}`;
      await createStream(client, stream, OCTET);
      ctx.log(`request floor, concurrency ${concurrency}`);
      const root = await measure(ctx, client, concurrency, () => ({ method: "GET", path: "/" }), answered);
      all.push(...figures(`floor.root.c${concurrency}`, `floor: GET / (no stream), concurrency ${concurrency}`, root, "requests"));
      const head = await measure(ctx, client, concurrency, () => ({ method: "HEAD", path: streamPath(stream) }));
      all.push(...figures(`floor.head.c${concurrency}`, `floor: HEAD of a stream, concurrency ${concurrency}`, head, "requests"));
    } finally {
      await client.close();
    }
  }
  return all;
}
