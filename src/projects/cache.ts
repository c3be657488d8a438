// Per-isolate cache of project auth data, so token checks cost no RPC on the hot path.
// A rotated-out secret or changed CORS list takes effect within AUTH_CACHE_MS.
import type { Env } from "../env";
import { projectStub } from "./stub";
import type { ProjectAuth } from "./project-do";

const cache = new Map<string, { value: ProjectAuth | null; fetchedAt: number }>();
/** Bounds memory if many project names are probed. */
const MAX_ENTRIES = 10_000;

export async function projectAuth(env: Env, project: string, maxAgeMs: number): Promise<ProjectAuth | null> {
  const now = Date.now();
  const cached = cache.get(project);
  if (cached && now - cached.fetchedAt < maxAgeMs) return cached.value;
  const value = await projectStub(env, project).auth();
  // Unknown projects are not cached: a project created a moment later must work at once.
  if (!value) return null;
  if (cache.size >= MAX_ENTRIES) cache.clear();
  cache.set(project, { value, fetchedAt: now });
  return value;
}

/**
 * Drops this isolate's copy after an admin change (an issuer, a revocation), so the Worker that made
 * the change applies it at once; other isolates follow within AUTH_CACHE_MS.
 */
export function forgetProjectAuth(project: string): void {
  cache.delete(project);
}
