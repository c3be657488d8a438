// JSON bodies of the estuary routes, validated with zod.
import { z } from "zod";
import { ApiError } from "../../errors";
import { isValidName } from "../../http/stream-path";
import { parseOffset, type OffsetQuery } from "../../stream/offsets";

const MAX_JSON_BODY_BYTES = 16 * 1024;

const EstuaryIdSchema = z.string().refine(isValidName, "estuaryId must be 1-128 characters of A-Z a-z 0-9 . _ ~ -");

export const SubscribeBodySchema = z.object({
  estuaryId: EstuaryIdSchema,
  from: z.string().optional(),
});

export const UnsubscribeBodySchema = z.object({ estuaryId: EstuaryIdSchema });

export async function readJson<T extends z.ZodType>(request: Request, schema: T): Promise<z.infer<T>> {
  const text = await request.text();
  if (text.length > MAX_JSON_BODY_BYTES) throw new ApiError("too_large", "request body is too large");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError("bad_request", "request body must be JSON");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError("bad_request", z.prettifyError(parsed.error));
  return parsed.data;
}

/** `from`: "now" (default), "-1", or an offset of the source. */
export function parseFrom(from: string | undefined): OffsetQuery {
  const offset = parseOffset(from ?? "now");
  if (!offset) throw new ApiError("bad_request", `from must be "now", "-1" or an offset`);
  return offset;
}
