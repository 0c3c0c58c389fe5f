// Supervision: what happens to a container's process after it was started. A waiter per running
// container (conmon's exit file) notices its exit; the exit is recorded, the container's runtime
// resources released, and the restart policy applied (a timer brings it back after its back-off).
// After an agent restart, `adopt` picks up what an earlier agent left: running containers get a
// waiter again, exits that happened meanwhile are recorded, pending restarts are rescheduled.
//
// Every step runs in the container's queue, so it never interleaves with a verb on it.

import type { ExitInfo, OciRuntime } from './oci';
import { decideRestart } from './restart';
import type { RecordWatch } from './record-watch';
import type { ContainerQueues } from './serial';
import type { ContainerStore } from './store';
import type { ContainerRecord } from './types';

export interface SupervisorDeps {
  store: ContainerStore;
  oci: OciRuntime;
  queues: ContainerQueues;
  watch: RecordWatch;
  /** Make a restarting container's process run again (the lifecycle's start path). */
  run(record: ContainerRecord): Promise<ContainerRecord>;
  /** Free runc state, network and mount of a container whose process is gone. */
  release(record: ContainerRecord): Promise<void>;
  /** Keep the container's log rotated while its process runs (until `signal`). */
  rotateLogs(id: string, signal: AbortSignal): void;
}


export class Supervisor {
  private readonly waiters = new Map<string, AbortController>();
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly d: SupervisorDeps) {}

  /** Stop watching (containers keep running: they belong to their monitors, not to us). */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.values()) waiter.abort();
    for (const timer of this.restartTimers.values()) clearTimeout(timer);
  }

  watchExit(id: string): void {
    if (this.closed || this.waiters.has(id)) return;
    const controller = new AbortController();
    this.waiters.set(id, controller);
    const forget = () => {
      if (this.waiters.get(id) === controller) this.waiters.delete(id);
    };
    // Rotation lasts as long as this waiter: its process's exit, a stop, or close.
    const running = new AbortController();
    controller.signal.addEventListener('abort', () => running.abort(), { once: true });
    this.d.rotateLogs(id, running.signal);
    this.d.oci.waitExit(id, controller.signal).finally(() => running.abort()).then(
      (exit) => this.d.queues.serial(id, async () => {
        // Aborted meanwhile: a stop (or restart) that queued before us already recorded this
        // exit, and the record may now describe a newer run that this exit must not end.
        if (controller.signal.aborted) return;
        forget();
        await this.exited(id, exit.exitCode, exit.finishedAt, exit.oomKilled);
      }),
      forget,
    ).catch((err: unknown) => console.error(`container ${id.slice(0, 12)}: handling its exit failed:`, err));
  }

  /** The caller records this exit itself (a stop): the waiter must not. */
  stopWatching(id: string): void {
    this.waiters.get(id)?.abort();
    this.waiters.delete(id);
  }

  /** Record an exit, release the container's runtime resources, apply the restart policy. */
  async exited(id: string, exitCode: number, finishedAt: string, oomKilled: boolean): Promise<void> {
    const { store, watch } = this.d;
    const record = store.get(id);
    if (!record || record.state.status !== 'running') return;
    const state = { ...record.state, status: 'exited' as const, exitCode, finishedAt, pid: 0, ...(oomKilled ? { error: 'OOMKilled' } : {}) };
    delete state.pausedAt;
    const decision = decideRestart(record.config, state);
    if (!decision.restart) {
      // The exit is recorded (and waiters answered) first; releasing the runtime's resources
      // takes longer (CNI DEL) and is nothing a waiter needs. Later verbs queue behind it.
      await store.save({ ...record, state });
      watch.notify(id);
      await this.d.release(record);
      if (record.config.autoRemove) {
        await store.remove(id);
        watch.notify(id);
      }
      return;
    }
    await this.d.release(record);
    // The back-off counts from the exit, as the kubelet's does, not from when it was noticed.
    const now = Date.now();
    const due = Math.max(now, (Date.parse(finishedAt) || now) + decision.delayMs);
    await store.save({ ...record, state: { ...state, status: 'restarting', nextRestartAt: new Date(due).toISOString(), restartDelayMs: decision.delayMs } });
    watch.notify(id);
    this.scheduleRestart(id, due - now);
  }

  private scheduleRestart(id: string, delayMs: number): void {
    if (this.closed) return;
    this.cancelRestart(id);
    const timer = setTimeout(() => {
      this.restartTimers.delete(id);
      void this.d.queues.serial(id, async () => {
        const record = this.d.store.get(id);
        if (!record || record.state.status !== 'restarting') return;
        await this.d.run({ ...record, state: { ...record.state, restartCount: record.state.restartCount + 1 } }).catch(async (err: unknown) => {
          // A restart that cannot even start counts as another failure.
          const now = this.d.store.get(id);
          if (now && now.state.status !== 'running') await this.exited(id, (err as { exitCode?: number }).exitCode ?? 128, new Date().toISOString(), false).catch(() => {});
        });
      });
    }, delayMs);
    timer.unref();
    this.restartTimers.set(id, timer);
  }

  cancelRestart(id: string): void {
    const timer = this.restartTimers.get(id);
    if (timer) clearTimeout(timer);
    this.restartTimers.delete(id);
  }

  /** The exit within `ms`, or undefined. */
  async awaitExit(id: string, ms: number): Promise<ExitInfo | undefined> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ms);
    try {
      return await this.d.oci.waitExit(id, controller.signal);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A commit froze the container and the agent died before thawing it: thaw it now (resuming a
   * container that is not paused, or is gone, does nothing), then forget the freeze.
   */
  private async thaw(record: ContainerRecord): Promise<void> {
    await this.d.oci.resume(record.id);
    const state = { ...record.state };
    delete state.frozenAt;
    await this.d.store.save({ ...record, state });
  }

  /** After an agent restart: pick up a running container's exit, or record one that happened. */
  async adopt(record: ContainerRecord): Promise<void> {
    const { oci, queues } = this.d;
    if (record.state.status === 'restarting') {
      const due = Date.parse(record.state.nextRestartAt ?? '') - Date.now();
      this.scheduleRestart(record.id, Math.max(0, Number.isNaN(due) ? 0 : due));
      return;
    }
    if (record.state.status !== 'running') return;
    if (record.state.frozenAt) await queues.serial(record.id, () => this.thaw(record));
    const exit = await oci.exitOf(record.id);
    if (exit) {
      await queues.serial(record.id, () => this.exited(record.id, exit.exitCode, exit.finishedAt, exit.oomKilled));
      return;
    }
    if (await oci.monitorAlive(record.id)) {
      this.watchExit(record.id);
      return;
    }
    // Its monitor died without recording an exit: the outcome is unknown; say so, as docker does.
    const state = await oci.state(record.id);
    if (state?.status === 'running') await oci.kill(record.id, 'KILL').catch(() => {});
    await queues.serial(record.id, () => this.exited(record.id, 255, new Date().toISOString(), false));
  }
}
