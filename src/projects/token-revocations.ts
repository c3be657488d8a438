// Revoked tokens of a project, by token id (`jti`) or by user: every token naming one is refused
// until the entry expires, and the sockets opened with one are closed (revocations.ts sweeps, the
// same machinery as a revoked secret's). Entries expire, at most MAX_TOKEN_LIFETIME_SECONDS after
// they are made (no token lives longer, so a jti entry that long outlives its token), and are
// deleted by the project's alarm: the table never grows beyond MAX_REVOCATIONS live entries.
// This module holds the SQL of ProjectDO's `token_revocations` table.
import { z } from "zod";

/** Live entries at most: the Workers cache them all with the project's secrets. */
export const MAX_REVOCATIONS = 1_000;

/** What a revocation names, and so which sockets close: a secret's kid, a token's jti, or a user. */
export const RevokedSchema = z.object({ kind: z.enum(["kid", "jti", "user"]), value: z.string().min(1).max(128) });
export type Revoked = z.infer<typeof RevokedSchema>;

/** What the Workers check every token against (ProjectAuth). */
export interface RevokedTokens {
  jtis: string[];
  users: string[];
}

export class TokenRevocations {
  /** Replaceable so tests can reach the cap with a few entries. */
  max = MAX_REVOCATIONS;

  constructor(private readonly sql: SqlStorage) {}

  /** Records (or extends) the entry; false when the table is full of other live entries. */
  add(target: Revoked, expiresAt: number, now: number): boolean {
    this.prune(now);
    const exists = this.sql.exec("SELECT 1 FROM token_revocations WHERE kind = ? AND value = ?", target.kind, target.value).toArray().length > 0;
    if (!exists && this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM token_revocations").one().n >= this.max) return false;
    this.sql.exec(
      `INSERT INTO token_revocations (kind, value, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (kind, value) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)`,
      target.kind,
      target.value,
      expiresAt,
    );
    return true;
  }

  live(now: number): RevokedTokens {
    const rows = this.sql.exec<{ kind: string; value: string }>("SELECT kind, value FROM token_revocations WHERE expires_at > ?", now).toArray();
    return { jtis: rows.filter((row) => row.kind === "jti").map((row) => row.value), users: rows.filter((row) => row.kind === "user").map((row) => row.value) };
  }

  /** The alarm task: when the next entry expires. */
  nextExpiry(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM token_revocations").one().at;
  }

  prune(now: number): void {
    this.sql.exec("DELETE FROM token_revocations WHERE expires_at <= ?", now);
  }
}
