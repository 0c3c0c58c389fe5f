// How a workload loop writes the pods it controls (ReplicaSets, Jobs): a pod whose name was taken
// by chance is left to the next pass; a create the registry refuses (Pod Security admission: the
// template asks for what its namespace forbids) is a FailedCreate event on the owner, as
// Kubernetes tells it, and the pass's other creates are not tried (they come from the same
// template) nor announced; the key is looked at again after a back-off.

import type { Pod, Resource } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { ignoreNotFound } from '../objects';
import { eventFor } from './meta';
import type { HandlerResult } from './queue';
import { requeueAfter, type ControllerContext } from './run-controller';
import type { EventSpec, ObjectRef } from './types';
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
