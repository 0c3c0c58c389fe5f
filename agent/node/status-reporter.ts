// Pod statuses on their way to the controller: only when changed, the newest per pod (a status
// that is replaced before it is sent is never sent), one send at a time, retried with back-off
// while the controller cannot be reached, and all sent again in a new session (the controller
// may have changed the pods' statuses while the node was lost).

import { backoffDelay, RETRY_BACKOFF } from './backoff';
import type { StatusReport } from './controller-link';

export class StatusReporter {
  /** The newest report per pod uid. */
  private readonly latest = new Map<string, StatusReport>();
  /** What the controller accepted last, per pod uid, in this session. */
  private readonly accepted = new Map<string, string>();
  private readonly queue = new Set<string>();
  private draining = false;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly send: (report: StatusReport) => Promise<void>,
    /** A terminated=true report was accepted: the pod may be forgotten. */
    private readonly onTerminated: (uid: string) => void,
  ) {}

  report(report: StatusReport): void {
    this.latest.set(report.uid, report);
    if (this.accepted.get(report.uid) === fingerprint(report)) return;
    this.queue.add(report.uid);
    this.kick();
  }

  /** A new session: everything current goes again. */
  resendAll(): void {
    this.accepted.clear();
    for (const uid of this.latest.keys()) this.queue.add(uid);
    this.failures = 0;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
  }

  private kick(): void {
    if (this.draining || this.retry || this.stopped) return;
    this.draining = true;
    void this.drain().finally(() => {
      this.draining = false;
      // Reports that came while the last send was failing wait for the retry timer.
      if (this.queue.size > 0 && !this.retry) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.size > 0 && !this.stopped) {
      const uid = this.queue.values().next().value as string;
      this.queue.delete(uid);
      const report = this.latest.get(uid);
      if (!report) continue;
      const print = fingerprint(report);
      if (this.accepted.get(uid) === print) continue;
      try {
        await this.send(report);
      } catch {
        // Kept for the retry unless a newer report replaced it meanwhile (then that one goes).
        this.queue.add(uid);
        this.failures++;
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.kick();
        }, backoffDelay(RETRY_BACKOFF, this.failures));
        this.retry.unref();
        return;
      }
      this.failures = 0;
      if (report.terminated && this.latest.get(uid) === report) {
        this.latest.delete(uid);
        this.accepted.delete(uid);
        this.onTerminated(uid);
      } else {
        this.accepted.set(uid, print);
      }
    }
  }
}

const fingerprint = (r: StatusReport) => `${r.terminated ? 'T' : 'S'}${JSON.stringify(r.status)}`;
