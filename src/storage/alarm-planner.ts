// The one place an object sets its alarm. A Durable Object has a single alarm, so every job that
// needs waking (expiry, retries, outbox calls, fan-out rounds) is a task reporting when it is next
// due, and the alarm is pointed at the earliest. `alarm()` handlers run every due task, then plan again.

/**
 * Alarms cannot be set past the year 2189; a later time is approached in steps of this size (each
 * alarm finds nothing due yet and plans again).
 */
const ALARM_HORIZON_MS = 50 * 365 * 24 * 3_600_000;

/** When a task is next due (ms since epoch), or null when it has nothing to do. */
export type AlarmTask = () => number | null;

export class AlarmPlanner {
  /** The alarm this object last set; null once it fired or was cleared. */
  private planned: number | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly tasks: readonly AlarmTask[],
  ) {}

  /** Points the alarm at the earliest due task, or clears it. Durable with the caller's writes. */
  plan(): void {
    let due: number | null = null;
    for (const task of this.tasks) {
      const at = task();
      if (at !== null && (due === null || at < due)) due = at;
    }
    if (due === null) {
      if (this.planned !== null) void this.storage.deleteAlarm();
      this.planned = null;
      return;
    }
    // Past times (even before 1970, which setAlarm refuses) are due now.
    const now = Date.now();
    const at = Math.min(Math.max(due, now), now + ALARM_HORIZON_MS);
    if (at === this.planned) return;
    this.planned = at;
    void this.storage.setAlarm(at);
  }

  /** Call first thing in `alarm()`: the alarm that was planned has fired. */
  fired(): void {
    this.planned = null;
  }
}
