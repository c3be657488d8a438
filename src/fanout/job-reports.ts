// What comes back from queue jobs: a consumer's report of a job it ran (its cost, its first failure,
// the estuaries it left short), and a dead-lettered job handed back for repair. Either takes the
// job's row out; its estuaries then count where they are, or are caught up as laggards.
import type { FanoutJob, JobReport } from "../contract/fanout";
import type { CommitTracker } from "../commit/tracker";
import { addCost } from "./cost";
import type { FanoutRowRepository } from "./fanout-row";
import type { JobStore } from "./jobs";
import type { FanoutRounds } from "./rounds";
import type { SubscriberStates } from "./subscriber-states";

export interface JobReportParts {
  fanout: FanoutRowRepository;
  subscribers: SubscriberStates;
  jobs: JobStore;
  commits: CommitTracker;
  rounds: FanoutRounds;
}

export class JobReports {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly parts: JobReportParts,
  ) {}

  /** Estuaries whose queued delivery was dead-lettered: caught up from the source by this object. */
  repair(job: FanoutJob): void {
    const { fanout, subscribers, jobs, rounds, commits } = this.parts;
    if (!fanout.load()) return;
    const now = Date.now();
    this.storage.transactionSync(() => {
      // Its estuaries hold no more than where the job started (for each, where it was counted then).
      const record = job.jobId === undefined ? null : jobs.take(job.jobId);
      for (const estuary of job.estuaries) subscribers.lowerTo(estuary, record?.hold ?? job.from, now);
    });
    rounds.kick();
    commits.changed();
  }

  /** A queue job's cost and first failure, reported by the consumer that ran it. */
  record(report: JobReport): void {
    const { fanout, subscribers, jobs, rounds, commits } = this.parts;
    const state = fanout.load();
    if (!state) return;
    state.cost = addCost(state.cost, report.cost);
    if (report.firstError) state.lastError = report.firstError;
    const { done } = report;
    if (done) {
      const now = Date.now();
      this.storage.transactionSync(() => {
        const record = jobs.take(done.jobId);
        // A repeated report, or one for a job already repaired or expired, changes no position.
        if (record) for (const short of done.behind) subscribers.lowerTo(short.estuary, short.applied ?? record.hold, now);
      });
      if (done.behind.length > 0) rounds.kick();
    }
    // Saved once the round's last job is in (or at once with a failure to show): one row per round,
    // not one per job. A report lost with an eviction only undercounts.
    if (jobs.count() === 0 || report.failures > 0) fanout.save(state);
    commits.changed();
  }
}
