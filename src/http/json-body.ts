// Small JSON request bodies (estuary and admin routes), parsed and validated with zod.
import type { z } from "zod";
import { ApiError } from "../errors";
import { readBody } from "./body";
import { parseOr400 } from "../validation";

export const MAX_JSON_BODY_BYTES = 16 * 1024;
/** A bulk subscribe names up to 1,000 ids of up to 128 characters each. */
export const MAX_BULK_JSON_BODY_BYTES = 160 * 1024;

export async function readJson<T extends z.ZodType>(request: Request, schema: T, maxBytes = MAX_JSON_BODY_BYTES): Promise<z.infer<T>> {
  const bytes = await readBody(request, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw new ApiError("bad_request", "request body must be JSON");
  }
  return parseOr400(schema, value);
}
