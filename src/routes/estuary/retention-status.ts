// The retention part of GET /v1/estuary/subscribers/{project}/{stream}: the source's policy, its
// earliest offset and what its trims did since its object started (the benchmark reads the cost).
import { z } from "zod";
import { OffsetString } from "../../contract/primitives";
import type { Env } from "../../env";
import { ApiError, isFailure } from "../../errors";
import type { StreamAddress } from "../../protocol/stream-address";
import { formatOffset } from "../../protocol/offsets";
import { streamStub } from "../../stream/stub";

export const RetentionStatusBodySchema = z.object({
  policy: z.string().nullable().meta({ description: "The canonical Stream-Retention value; null: everything is kept." }),
  earliestOffset: OffsetString,
  trimmed: z
    .object({
      runs: z.number().int(),
      rows: z.number().int(),
      bytes: z.number().int(),
      rowsWritten: z.number().int().meta({ description: "Billed SQLite row writes of those trims (deleted rows and the stream row)." }),
    })
    .meta({ description: "What trims did since the stream's object last started (kept in memory)." }),
});
export type RetentionStatusBody = z.infer<typeof RetentionStatusBodySchema>;

export async function retentionStatus(env: Env, source: StreamAddress): Promise<RetentionStatusBody> {
  const status = await streamStub(env, source.key).retentionStatus();
  if (isFailure(status)) throw ApiError.from(status);
  return { policy: status.policy, earliestOffset: formatOffset(status.earliest), trimmed: status.trimmed };
}
