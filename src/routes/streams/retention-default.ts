// The retention policy a PUT without Stream-Retention gets: its project's default (set with PATCH
// /v1/admin/projects/{project}), read from the per-isolate project cache the token checks use.
import { loadConfig } from "../../config";
import type { Env } from "../../env";
import { projectAuth } from "../../projects/cache";
import { storedRetention, type RetentionPolicy } from "../../protocol/retention-policy";

export async function projectRetention(env: Env, project: string): Promise<RetentionPolicy | undefined> {
  const auth = await projectAuth(env, project, loadConfig(env).AUTH_CACHE_MS);
  return storedRetention(auth?.retention ?? null) ?? undefined;
}
