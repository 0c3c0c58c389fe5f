// The node's pods: one worker per pod uid, fed by the pod watch and by the host (container
// changes), created on adoption for the pods whose containers an earlier agent left.
//
// Nothing is stopped before the first full list (SYNCED): until then an adopted pod may well
// still be bound here. After it, adopted pods that were not listed are terminated, and pod
// networks and cgroups that no pod owns are removed.

import { BerthError } from '../../proto/errors';
import { cgroupName, networkId, podOfContainer } from './naming';
import type { PodChange } from './pod-watch';
import { PodWorker, type WorkerDeps } from './pod-worker';

/** How often every worker looks again without being asked: a safety net for anything missed. */
const RESYNC_MS = 30_000;

export class PodManager {
  private readonly workers = new Map<string, PodWorker>();
  /** Uids terminated and reported, never to be started again (until the watch forgets them). */
  private readonly finished = new Set<string>();
  private readonly resync: NodeJS.Timeout;

  constructor(private readonly d: WorkerDeps) {
    this.resync = setInterval(() => {
      for (const w of this.workers.values()) w.kick();
    }, RESYNC_MS);
    this.resync.unref();
  }

  /** Take on the pods whose containers are on the host (after an agent restart). */
  adopt(): void {
    for (const record of this.d.containers.list({ all: true })) {
      const ref = podOfContainer(record);
      if (ref && !this.workers.has(ref.uid)) this.workers.set(ref.uid, new PodWorker(ref, this.d));
    }
  }

  apply(changes: PodChange[]): void {
    for (const change of changes) {
      switch (change.type) {
        case 'desired': {
          const uid = change.pod.metadata.uid!;
          if (this.finished.has(uid)) break;
          let worker = this.workers.get(uid);
          if (!worker) {
            worker = new PodWorker({ namespace: change.pod.metadata.namespace ?? 'default', name: change.pod.metadata.name!, uid }, this.d);
            this.workers.set(uid, worker);
          }
          worker.update(change.pod);
          break;
        }
        case 'gone':
          this.finished.delete(change.ref.uid);
          this.workers.get(change.ref.uid)?.terminate();
          break;
        case 'synced':
          for (const worker of this.workers.values()) if (worker.pod === undefined) worker.terminate();
          void this.removeOrphanNetworks().catch((err: unknown) => this.d.log(`removing pod networks no pod owns: ${(err as Error).message}`));
          this.removeOrphanCgroups();
          break;
      }
    }
  }

  /** A container's record changed: its pod's worker looks again. */
  containerChanged(id: string): void {
    const record = this.d.containers.find(id);
    const ref = record && podOfContainer(record);
    if (ref) this.workers.get(ref.uid)?.kick();
  }

  /** The pod's terminated report was accepted: forget it. */
  terminated(uid: string): void {
    const worker = this.workers.get(uid);
    if (worker?.phase !== 'terminated') return;
    this.workers.delete(uid);
    this.finished.add(uid);
    if (this.finished.size > 10_000) this.finished.delete(this.finished.values().next().value as string);
  }

  /** The runtime ID of the container a logs request means. */
  logTarget(namespace: string, name: string, container: string): string {
    const worker = [...this.workers.values()].find((w) => w.ref.namespace === namespace && w.ref.name === name && w.phase !== 'terminated');
    if (!worker) throw new BerthError('not-found', `pod ${namespace}/${name} is not on node ${this.d.config.nodeName}`);
    const names = worker.pod?.spec.containers.map((c) => c.name) ?? [];
    if (container && names.length > 0 && !names.includes(container)) throw new BerthError('not-found', `pod ${namespace}/${name} has no container ${container}`);
    const wanted = container || names[0];
    const id = wanted ? worker.containerId(wanted) : undefined;
    if (!id) throw new BerthError('failed-precondition', `container ${wanted ?? '(none)'} of pod ${namespace}/${name} has not been created yet`);
    return id;
  }

  async stop(): Promise<void> {
    clearInterval(this.resync);
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
  }

  /** A pod's cgroup left by an agent that stopped between removing its containers and the cgroup. */
  private removeOrphanCgroups(): void {
    const owned = new Set([...this.workers.values()].map((w) => cgroupName(w.ref)));
    for (const name of this.d.cgroups.list()) {
      if (!name.startsWith('pod-') || owned.has(name)) continue;
      try {
        this.d.cgroups.remove(name);
      } catch (err) {
        this.d.log(`removing pod cgroup ${name}, which no pod owns: ${(err as Error).message}`);
      }
    }
  }

  private async removeOrphanNetworks(): Promise<void> {
    const owned = new Set([...this.workers.values()].map((w) => networkId(w.ref)));
    for (const id of await this.d.network.list()) {
      if (id.startsWith('pod-') && !owned.has(id)) await this.d.network.detach(id);
    }
  }
}
