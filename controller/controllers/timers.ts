// Time for the work queue, injected so that tests run it deterministically: the system's timers in
// production, ManualTimers (time moves only when a test says) in unit tests.

export type TimerHandle = unknown;

export interface Timers {
  /** Milliseconds, monotonic enough for delays. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Pending { id: number; at: number; fn: () => void }

/** Timers that fire only from advance(): for tests of code that waits. */
export class ManualTimers implements Timers {
  private current: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.pending.push({ id, at: this.current + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }

  /** Timers not yet fired. */
  get count(): number {
    return this.pending.length;
  }

  /** When the next timer fires, or undefined. */
  get next(): number | undefined {
    return this.pending.length === 0 ? undefined : Math.min(...this.pending.map((p) => p.at));
  }

  /** Move time forward by ms, firing every timer due on the way, in time order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.pending.filter((p) => p.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.pending = this.pending.filter((p) => p !== due);
      this.current = due.at;
      due.fn();
    }
    this.current = target;
  }
}
