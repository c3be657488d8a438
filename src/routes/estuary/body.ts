// JSON bodies of the estuary routes, validated with zod.
import { z } from "zod";
import { ApiError } from "../../errors";
import { isValidName } from "../../protocol/stream-address";
import { parseOffset, type OffsetQuery } from "../../protocol/offsets";

export { readJson } from "../../http/json-body";

const EstuaryIdSchema = z.string().refine(isValidName, "estuaryId must be 1-128 characters of A-Z a-z 0-9 . _ ~ -");

export const SubscribeBodySchema = z.object({
  estuaryId: EstuaryIdSchema,
  from: z.string().optional(),
  /** Make a newly created estuary readable without a token (estuaries are private by default). */
  public: z.boolean().optional(),
});

export const UnsubscribeBodySchema = z.object({ estuaryId: EstuaryIdSchema });

/** `from`: "now" (default), "-1", or an offset of the source. */
export function parseFrom(from: string | undefined): OffsetQuery {
  const offset = parseOffset(from ?? "now");
  if (!offset) throw new ApiError("bad_request", `from must be "now", "-1" or an offset`);
  return offset;
}
