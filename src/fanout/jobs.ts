// Queue jobs out, one row each, written before the job is sent and removed when it is reported done,
// repaired after dead-lettering, or expired. While a row exists its estuaries hold no more than its
// hold position (the commit policy's Hold); a row nobody reports on expires into repairs of its
// estuaries, so a lost report can neither pin the committed offset nor leave an estuary short.
import type { Hold } from "../commit/position";

export interface JobEstuary {
  estuary: string;
  required: boolean;
}

export interface JobRecord {
  id: number;
  from: number;
  to: number;
  /** The lowest position any of its estuaries was counted at when it was sent. */
  hold: number;
  sentAt: number;
  estuaries: string[];
}

type JobRow = { job_id: number; from_pos: number; to_pos: number; hold_pos: number; sent_at: number; estuaries: string };

export class JobStore {
  private sequence = 0;

  constructor(private readonly sql: Pick<SqlStorage, "exec">) {}

  /** Records a job about to be sent; its id, unique across restarts (time-based, never reused). */
  add(from: number, to: number, hold: number, estuaries: readonly JobEstuary[], now: number): number {
    const required = estuaries.filter((estuary) => estuary.required).length;
    const names = JSON.stringify(estuaries.map((estuary) => estuary.estuary));
    for (;;) {
      const id = now * 1_000 + (this.sequence++ % 1_000);
      const query = `INSERT OR IGNORE INTO fanout_jobs (job_id, from_pos, to_pos, hold_pos, sent_at, required, optional, estuaries)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
      if (this.sql.exec(query, id, from, to, hold, now, required, estuaries.length - required, names).rowsWritten > 0) return id;
    }
  }

  /** Takes a job out (done, repaired, expired, or never sent); null if it is not out (any more). */
  take(id: number): JobRecord | null {
    const row = this.sql.exec<JobRow>("SELECT * FROM fanout_jobs WHERE job_id = ?", id).toArray()[0];
    if (!row) return null;
    this.sql.exec("DELETE FROM fanout_jobs WHERE job_id = ?", id);
    return toRecord(row);
  }

  /** Jobs sent at or before `sentBy`, oldest first. */
  sentBy(sentBy: number, limit: number): JobRecord[] {
    return this.sql.exec<JobRow>("SELECT * FROM fanout_jobs WHERE sent_at <= ? ORDER BY sent_at LIMIT ?", sentBy, limit).toArray().map(toRecord);
  }

  holds(): Hold[] {
    return this.sql
      .exec<{ hold_pos: number; required: number; optional: number }>("SELECT hold_pos, required, optional FROM fanout_jobs")
      .toArray()
      .map((row) => ({ from: row.hold_pos, required: row.required, optional: row.optional }));
  }

  count(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM fanout_jobs").one().n;
  }

  oldestSentAt(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT MIN(sent_at) AS at FROM fanout_jobs").one().at;
  }

  clear(): void {
    this.sql.exec("DELETE FROM fanout_jobs");
  }
}

function toRecord(row: JobRow): JobRecord {
  return { id: row.job_id, from: row.from_pos, to: row.to_pos, hold: row.hold_pos, sentAt: row.sent_at, estuaries: JSON.parse(row.estuaries) as string[] };
}
