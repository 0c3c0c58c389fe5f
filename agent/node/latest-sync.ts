// One host-programming sync at a time, the latest state winning: calls made while a sync runs
// fold into one more, which reads the state as it is when it starts; a failure is logged once
// (until it changes or clears) and retried, level-triggered, with the state as it is then.

export class LatestSync {
  private running: Promise<void> = Promise.resolve();
  private pending = false;
  private stopped = false;
  private lastProblem = '';

  /**
   * `attempt` programs the current state, or returns false when it cannot be programmed yet
   * (watches not listed): that is no failure, and the next change schedules again.
   */
  constructor(
    private readonly what: string,
    private readonly attempt: () => Promise<boolean>,
    private readonly log: (line: string) => void,
    private readonly retryMs = 2000,
  ) {}

  schedule(): void {
    if (this.pending || this.stopped) return;
    this.pending = true;
    this.running = this.running.then(async () => {
      this.pending = false;
      if (this.stopped) return;
      try {
        if (await this.attempt()) this.problem('');
      } catch (err) {
        this.problem(`${this.what}: ${(err as Error).message} (retrying)`);
        setTimeout(() => this.schedule(), this.retryMs).unref();
      }
    });
  }

  /** No more syncs; resolves when the one running is over. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private problem(message: string): void {
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    if (message) this.log(message);
  }
}
