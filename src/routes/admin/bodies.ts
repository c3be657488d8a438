// Request bodies of the admin routes.
import { z } from "zod";
import { isValidName } from "../../protocol/stream-address";
import { CorsOriginsSchema } from "../../projects/project-do";
import { SCOPES } from "../../auth/token";

export const ProjectNameSchema = z.string().refine(isValidName, "project names are 1-128 characters of A-Z a-z 0-9 . _ ~ -");

export const CreateProjectSchema = z.object({ project: ProjectNameSchema, corsOrigins: CorsOriginsSchema.default([]) });

export const UpdateProjectSchema = z.object({ corsOrigins: CorsOriginsSchema });

/** Minted tokens live at most 30 days; long-lived access is a secret, not a token. */
export const MAX_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

export const MintTokenSchema = z.object({
  scope: z.array(z.enum(SCOPES)).min(1),
  ttlSeconds: z.number().int().min(1).max(MAX_TOKEN_TTL_SECONDS).default(3600),
  streams: z.array(z.string().min(1).max(129)).max(100).optional(),
});
