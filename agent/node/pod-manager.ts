// The node's pods: one worker per pod uid, fed by the pod watch and by the host (container
// changes), created on adoption for the pods whose containers an earlier agent left.
//
// Nothing is stopped before the first full list (SYNCED): until then an adopted pod may well
// still be bound here. After it, adopted pods that were not listed are terminated, and pod
// networks and cgroups that no pod owns are removed.
//
// A pod new to this node is admitted first (admission.ts), one at a time and only once the first
// full list is in (so that every pod already here counts, oldest first, as the kubelet admits
// them): a pod that fits gets its worker; one that does not fails at once (status Failed with the
// reason, a Warning event) and is never started, nor is a pod that had ended before this agent saw
// it. Such pods are only told "terminated" once they are deleted.

import type { Node, Pod, PodStatus } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import type { PortInUse } from '../network';
import { admitPod, rejectedMessage, type Rejection } from './admission';
import { publishedPorts } from './container-spec';
import { cgroupName, networkId, podKey, podContainers, podOfContainer, podRef } from './naming';
import type { PodChange } from './pod-watch';
import { PodWorker, type WorkerDeps } from './pod-worker';
import type { PodRef } from './types';

/** How often every worker looks again without being asked: a safety net for anything missed. */
const RESYNC_MS = 30_000;

export class PodManager {
  private readonly workers = new Map<string, PodWorker>();
  /** Uids terminated and reported, never to be started again (until the watch forgets them). */
  private readonly finished = new Set<string>();
  private readonly resync: NodeJS.Timeout;
  /** The first full list is in: new pods may be admitted. */
  private synced = false;
  /** New pods not admitted yet (the newest desired state of each), by uid. */
  private readonly waiting = new Map<string, Pod>();
  /** One admission at a time: each counts the pods admitted before it. */
  private admissions: Promise<void> = Promise.resolve();
  /** Pods that are never started here (refused, or ended before we saw them), with what was reported. */
  private readonly notStarted = new Map<string, { ref: PodRef; status: PodStatus }>();
  private stopping = false;

  /** `node`: this node as admission sees it (labels, allocatable, and whether it is cordoned). */
  constructor(private readonly d: WorkerDeps, private readonly node: () => Node) {
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
          const worker = this.workers.get(uid);
          if (worker) {
            worker.update(change.pod);
          } else if (this.notStarted.has(uid)) {
            this.settleNotStarted(change.pod);
          } else {
            const queued = this.waiting.has(uid);
            this.waiting.set(uid, change.pod);
            if (this.synced && !queued) this.queueAdmission(uid);
          }
          break;
        }
        case 'gone':
          this.finished.delete(change.ref.uid);
          this.waiting.delete(change.ref.uid);
          this.notStarted.delete(change.ref.uid);
          this.workers.get(change.ref.uid)?.terminate();
          break;
        case 'synced':
          if (!this.synced) {
            this.synced = true;
            const oldestFirst = [...this.waiting.values()].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
            for (const pod of oldestFirst) this.queueAdmission(pod.metadata.uid!);
          }
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
    if (this.notStarted.delete(uid)) {
      this.finished.add(uid);
      return;
    }
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
    const all = worker.pod ? podContainers(worker.pod).map((c) => c.name) : [];
    if (container && all.length > 0 && !all.includes(container)) throw new BerthError('not-found', `pod ${namespace}/${name} has no container ${container}`);
    const wanted = container || names[0];
    const id = wanted ? worker.containerId(wanted) : undefined;
    if (!id) throw new BerthError('failed-precondition', `container ${wanted ?? '(none)'} of pod ${namespace}/${name} has not been created yet`);
    return id;
  }

  /** A running pod's address on this node (port-forward connects to it). */
  podAddress(namespace: string, name: string): string {
    const worker = [...this.workers.values()].find((w) => w.ref.namespace === namespace && w.ref.name === name && w.phase !== 'terminated');
    if (!worker) throw new BerthError('not-found', `pod ${namespace}/${name} is not on node ${this.d.config.nodeName}`);
    const ip = worker.podIp();
    if (!ip) throw new BerthError('failed-precondition', `pod ${namespace}/${name} has no address yet`);
    return ip;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.resync);
    // An admission under way ends first: no worker is made after the others stopped.
    await this.admissions;
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

  // ---- admission ---------------------------------------------------------------------------

  private queueAdmission(uid: string): void {
    this.admissions = this.admissions.then(() => this.admit(uid)).catch((err: unknown) => this.d.log(`admitting pod ${uid}: ${(err as Error).message}`));
  }

  private async admit(uid: string): Promise<void> {
    const first = this.waiting.get(uid);
    if (!first) return; // gone meanwhile
    const ref = podRef(first);
    const phase = first.status?.phase;
    if (!first.metadata.deletionTimestamp && (phase === 'Failed' || phase === 'Succeeded')) {
      // Ended before this agent saw it (refused by an earlier run): never started again, as the kubelet.
      this.waiting.delete(uid);
      this.notStarted.set(uid, { ref, status: first.status! });
      return;
    }
    // A pod deleted before it started has nothing to be refused: its worker reports it gone.
    const ports = first.metadata.deletionTimestamp ? [] : publishedPorts(first);
    const inUse = ports.length > 0 ? await this.d.network.portsInUse(ports, networkId(ref)).catch((err: unknown) => {
      // The host could not be asked (its network records unreadable): the pods admitted here still count.
      this.d.log(`pod ${podKey(ref)}: cannot tell which host ports are in use: ${(err as Error).message}`);
      return [] as PortInUse[];
    }) : [];
    const pod = this.waiting.get(uid);
    if (!pod || this.stopping) return;
    this.waiting.delete(uid);
    const rejection = pod.metadata.deletionTimestamp ? undefined : admitPod({
      pod,
      node: this.node(),
      admitted: this.admittedPods(),
      portsInUse: inUse.map((p) => ({ port: p.port, holder: this.holderOf(p) })),
    });
    if (rejection) this.reject(pod, rejection);
    else this.start(pod);
  }

  private start(pod: Pod): void {
    const uid = pod.metadata.uid!;
    this.waiting.delete(uid);
    if (this.workers.has(uid)) return;
    const worker = new PodWorker(podRef(pod), this.d);
    this.workers.set(uid, worker);
    worker.update(pod);
  }

  /** The kubelet's rejectPod: a Warning event with the reason, and the pod Failed for good. */
  private reject(pod: Pod, rejection: Rejection): void {
    const ref = podRef(pod);
    const scheduled = pod.status?.conditions?.filter((c) => c.type === 'PodScheduled');
    const status: PodStatus = {
      phase: 'Failed', reason: rejection.reason, message: rejectedMessage(rejection),
      ...(scheduled?.length ? { conditions: scheduled } : {}),
    };
    this.notStarted.set(ref.uid, { ref, status });
    this.d.log(`pod ${podKey(ref)} rejected: ${rejection.message}`);
    this.d.events.record(ref, 'Warning', rejection.reason, rejection.message);
    this.d.report({ ...ref, status, terminated: false });
  }

  /** A pod never started here: once it is being deleted, there is nothing to stop, it may go. */
  private settleNotStarted(pod: Pod): void {
    const held = this.notStarted.get(pod.metadata.uid!);
    if (held && pod.metadata.deletionTimestamp) this.d.report({ ...held.ref, status: held.status, terminated: true });
  }

  /** The pods admitted here that still hold what they requested: not finished, not ended. */
  private admittedPods(): Pod[] {
    return [...this.workers.values()]
      .filter((w) => w.phase !== 'terminated' && w.pod && w.pod.status?.phase !== 'Succeeded' && w.pod.status?.phase !== 'Failed')
      .map((w) => w.pod!);
  }

  /** Who holds a port, in words: a pod of ours by name, another container by id, or the host. */
  private holderOf(p: PortInUse): string {
    if (p.holder === 'host') return 'held by a process of the host';
    const id = p.holder.attachment;
    const worker = [...this.workers.values()].find((w) => networkId(w.ref) === id);
    return worker ? `published by pod ${podKey(worker.ref)}` : `published by container ${id}`;
  }

  private async removeOrphanNetworks(): Promise<void> {
    const owned = new Set([...this.workers.values()].map((w) => networkId(w.ref)));
    for (const id of await this.d.network.list()) {
      if (id.startsWith('pod-') && !owned.has(id)) await this.d.network.detach(id);
    }
  }
}
