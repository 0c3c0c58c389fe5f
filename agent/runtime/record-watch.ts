// Who hears of a container record's changes: `logs -f` and `wait` (until the container settles)
// and observers such as the node's pod workers. Told after each change is saved.

import type { ContainerStore } from './store';
import type { ContainerRecord } from './types';

export class RecordWatch {
  /** Resolved whenever a container's record changes, for `logs -f` and `wait`. */
  private readonly changed = new Map<string, Array<() => void>>();
  /** Told the ID of every container whose record changed (or that was removed). */
  private readonly observers = new Set<(id: string) => void>();

  constructor(private readonly store: ContainerStore) {}

  notify(id: string): void {
    for (const listener of this.changed.get(id) ?? []) listener();
    for (const observer of this.observers) observer(id);
  }

  /**
   * Be told the ID of each container whose record changes (created, started, exited, restarting,
   * removed), after the change is saved. Returns the unsubscribe function.
   */
  observe(observer: (id: string) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /**
   * Resolves once the container is not running and no restart is pending, or it is gone; with
   * `untilGone` (a --rm container) only once it is removed. Resolves with the last exit code seen.
   */
  settled(id: string, untilGone = false): Promise<number> {
    return this.until(id, (r) => !r || (!untilGone && (r.state.status === 'exited' || r.state.status === 'created')));
  }

  /** Resolves once its current run is over (exited, waiting out a restart's back-off, or gone), with the exit code. */
  runEnded(id: string): Promise<number> {
    return this.until(id, (r) => !r || r.state.status !== 'running');
  }

  private until(id: string, done: (record: ContainerRecord | undefined) => boolean): Promise<number> {
    return new Promise((resolve) => {
      let exitCode = this.store.get(id)?.state.exitCode ?? 0;
      const check = () => {
        const r = this.store.get(id);
        if (r?.state.exitCode !== undefined) exitCode = r.state.exitCode;
        const finished = done(r);
        if (finished) resolve(exitCode);
        return finished;
      };
      if (check()) return;
      const listener = () => {
        if (check()) this.changed.set(id, (this.changed.get(id) ?? []).filter((l) => l !== listener));
      };
      this.changed.set(id, [...(this.changed.get(id) ?? []), listener]);
    });
  }
}
