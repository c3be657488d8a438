// GET /health: the Worker is up (anyone; no Durable Object is touched, so it says nothing about them).
import { z } from "zod";
import type { AppContext } from "../http/context";

export const HealthSchema = z.object({ status: z.literal("ok") });

export function health(c: AppContext): Response {
  const body: z.infer<typeof HealthSchema> = { status: "ok" };
  return c.json(body);
}
