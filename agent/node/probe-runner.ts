// The tries of one probe of one run of a container, on their schedule: the first initialDelay
// after the container started, then every period (counted from the start of the previous try).
// A runner lives as long as the run: the pod worker stops it when the container stops or runs
// again, and starts a fresh one (with a fresh verdict) for the next run.

import { runProbe, type ContainerExec, type ProbeOutcome } from './prober';
import { initialProbeState, nextProbeAt, recordProbeResult, type ProbeKind, type ProbeSettings, type ProbeState, type ProbeTarget } from './probe';
import type { Clock } from './types';

export interface ProbeRunnerOptions {
  kind: ProbeKind;
  settings: ProbeSettings;
  /** Read at each try: the pod's address may be known only later. */
  target: () => ProbeTarget;
  startedAtMs: number;
  exec: ContainerExec;
  clock: Clock;
  /** After every try, with the verdict before and after it. */
  onResult(state: ProbeState, before: ProbeState, outcome: ProbeOutcome): void;
}

export class ProbeRunner {
  private verdict: ProbeState;
  private lastTryAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: ProbeRunnerOptions) {
    this.verdict = initialProbeState(o.kind);
  }

  get state(): ProbeState {
    return this.verdict;
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    const at = nextProbeAt(this.o.startedAtMs, this.lastTryAt, this.o.settings);
    this.timer = setTimeout(() => void this.tryOnce(), Math.max(0, at - this.o.clock.now()));
    this.timer.unref();
  }

  private async tryOnce(): Promise<void> {
    if (this.stopped) return;
    this.lastTryAt = this.o.clock.now();
    let outcome: ProbeOutcome;
    try {
      outcome = await runProbe(this.o.target(), this.o.settings.timeoutMs, this.o.exec);
    } catch (err) {
      outcome = { ok: false, message: (err as Error).message };
    }
    if (this.stopped) return;
    const before = this.verdict;
    this.verdict = recordProbeResult(before, outcome.ok, outcome.message, this.o.settings);
    this.o.onResult(this.verdict, before, outcome);
    this.schedule();
  }
}
