// How a workload loop writes the pods it controls (ReplicaSets, Jobs): a pod whose name was taken
// by chance is left to the next pass; a create the registry refuses (Pod Security admission: the
// template asks for what its namespace forbids) is a FailedCreate event on the owner, as
// Kubernetes tells it, and the pass's other creates are not tried (they come from the same
// template) nor announced; the key is looked at again after a back-off.

import type { Pod, Resource } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { ignoreNotFound } from '../objects';
import type { Caches, Informer } from '../cache';
import { eventFor, isControlledBy } from './meta';
import type { HandlerResult } from './queue';
import { objectLoop, requeueAfter, type ControlLoop, type ControllerContext } from './run-controller';
import type { EventSpec, ObjectRef, Plan } from './types';
import type { WrittenRevisions } from './written';

export class OwnedPods {
  private refused = false;
  /** SuccessfulCreate messages of the pods not made in this pass. */
  private readonly notCreated = new Set<string>();

  constructor(
    private readonly ctx: ControllerContext,
    private readonly owner: Resource,
    private readonly component: string,
    private readonly written: WrittenRevisions,
    private readonly createdMessage: (name: string) => string,
  ) {}

  async create(pod: Pod): Promise<void> {
    const message = this.createdMessage(pod.metadata.name!);
    if (this.refused) {
      this.notCreated.add(message);
      return;
    }
    this.written.note(this.ctx.caches.pods, await this.ctx.registry.create<Pod>(pod).catch((err: unknown) => {
      // A name taken by chance: the next pass makes another.
      if (err instanceof BerthError && err.code === 'already-exists') return undefined;
      this.notCreated.add(message);
      this.ctx.record(eventFor(this.owner, this.component, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`));
      if (err instanceof BerthError && err.code === 'permission-denied') {
        this.refused = true;
        return undefined;
      }
      throw err;
    }));
  }

  async delete(pod: ObjectRef): Promise<void> {
    this.written.note(this.ctx.caches.pods, await this.ctx.registry.delete('Pod', pod.namespace, pod.name).catch(ignoreNotFound));
  }

  /** Record a planned event, unless it announces a pod that was not made. */
  record(event: EventSpec): void {
    if (event.reason === 'SuccessfulCreate' && this.notCreated.has(event.message)) return;
    this.ctx.record(event);
  }

  /** The pass's result: refused (not an error of ours, nothing is logged) means another look after a back-off. */
  result(requeueAfterMs: number | undefined): HandlerResult | undefined {
    return this.refused ? { requeue: true } : requeueAfter(requeueAfterMs);
  }
}

/** The actions every pod-owning planner returns, carried out the same way. */
export type PodAction =
  | { type: 'create-pod'; pod: Pod }
  | { type: 'delete-pod'; pod: ObjectRef }
  | { type: 'event'; event: EventSpec };

/**
 * A loop over a kind that owns pods (ReplicaSet, Job, DaemonSet): its key -> `plan` over the
 * object and the pods it controls -> pods created and deleted as above, events recorded; the
 * kind's own actions (its status, its deletion) go to `other`. Woken by the object and its pods.
 */
export function podOwnerLoop<T extends Resource, A extends { type: string }>(options: {
  workers: number;
  objects: (caches: Caches) => Informer<T>;
  component: string;
  createdMessage: (name: string) => string;
  plan(ctx: ControllerContext, object: T, pods: Pod[]): Plan<A | PodAction>;
  other(ctx: ControllerContext, object: T, action: A, written: WrittenRevisions): Promise<void>;
}): ControlLoop {
  return objectLoop({
    workers: options.workers,
    objects: options.objects,
    owned: (caches) => caches.pods,
    async reconcile(ctx, object, written) {
      const { namespace } = object.metadata;
      const pods = ctx.caches.pods.list((p) => p.metadata.namespace === namespace && isControlledBy(p, object));
      const { actions, requeueAfterMs } = options.plan(ctx, object, pods);
      const owned = new OwnedPods(ctx, object, options.component, written, options.createdMessage);
      for (const action of actions) {
        const pod = action as PodAction;
        if (pod.type === 'create-pod') await owned.create(pod.pod);
        else if (pod.type === 'delete-pod') await owned.delete(pod.pod);
        else if (pod.type === 'event') owned.record(pod.event);
        else await options.other(ctx, object, action as A, written);
      }
      return owned.result(requeueAfterMs);
    },
  });
}
