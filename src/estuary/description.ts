// What GET /v1/estuary/{project}/{id} answers: an estuary and each of its subscriptions, with how far
// each source has been applied. Built by subscriptions.ts describeEstuary; the route and the OpenAPI
// document take the shape from here.
import { z } from "zod";
import { OffsetString } from "../contract/primitives";
import { ENVELOPES } from "../protocol/cloudevents";
import { GapsViewSchema } from "../contract/gaps";

export const EstuaryDescriptionSchema = z.object({
  estuary: z.string(),
  stream: z.string(),
  subscriptions: z.array(
    z.object({
      source: z.string(),
      deliveredOffset: OffsetString,
      lagBytes: z.number().int().nullable(),
      envelope: z.enum(ENVELOPES),
      /** With the CloudEvents envelope: the events' type prefix. */
      typePrefix: z.string().optional(),
      /** Only once retention trimmed source data before this estuary had it (estuary/gaps.ts). */
      gaps: GapsViewSchema.optional().meta({ description: "present once the source's retention trimmed data before this estuary had it: the estuary jumped to the source's earliest offset" }),
    }),
  ),
});
export type EstuaryDescription = z.infer<typeof EstuaryDescriptionSchema>;
