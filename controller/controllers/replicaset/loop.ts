// The replica set loop: a ReplicaSet's key -> plan (./plan.ts) over the caches -> pods created
// and deleted, status written. Its pods' changes wake it too.
//
// A create the registry refuses (Pod Security admission: the template asks for what its
// namespace forbids) is told as Kubernetes tells it, a FailedCreate event on the ReplicaSet with
// the refusal; the rest of the pass's creates are not tried (they come from the same template),
// and the key is looked at again after a back-off, until the template or the namespace changes.

import type { Pod } from '../../../proto/resources';
import { BerthError } from '../../../proto/errors';
import { ignoreNotFound } from '../../objects';
import { eventFor, isControlledBy } from '../meta';
import type { HandlerResult } from '../queue';
import { objectLoop, requeueAfter, writeStatus } from '../run-controller';
import { createdMessage, plan } from './plan';
import { randomSuffix } from './random-suffix';
import { REPLICASET_CONTROLLER } from './types';

export const replicaSetLoop = objectLoop({
  workers: 2,
  objects: (caches) => caches.replicaSets,
  owned: (caches) => caches.pods,

  async reconcile(ctx, replicaSet, written): Promise<HandlerResult | undefined> {
    const { namespace } = replicaSet.metadata;
    const pods = ctx.caches.pods.list((p) => p.metadata.namespace === namespace && isControlledBy(p, replicaSet));
    const { actions, requeueAfterMs } = plan(replicaSet, pods, ctx.clock(), randomSuffix);
    let refused = false;
    /** SuccessfulCreate messages of the pods not made in this pass. */
    const notCreated = new Set<string>();
    for (const action of actions) {
      switch (action.type) {
        case 'create-pod': {
          const name = action.pod.metadata.name!;
          if (refused) {
            notCreated.add(createdMessage(name));
            break;
          }
          written.note(ctx.caches.pods, await ctx.registry.create<Pod>(action.pod).catch((err: unknown) => {
            // A name taken by chance: the next pass makes another.
            if (err instanceof BerthError && err.code === 'already-exists') return undefined;
            notCreated.add(createdMessage(name));
            ctx.record(eventFor(replicaSet, REPLICASET_CONTROLLER, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`));
            if (err instanceof BerthError && err.code === 'permission-denied') {
              refused = true;
              return undefined;
            }
            throw err;
          }));
          break;
        }
        case 'delete-pod':
          written.note(ctx.caches.pods, await ctx.registry.delete('Pod', action.pod.namespace, action.pod.name).catch(ignoreNotFound));
          break;
        case 'update-replicaset-status':
          await writeStatus(ctx, ctx.caches.replicaSets, written, replicaSet, action.status);
          break;
        case 'event':
          if (action.event.reason === 'SuccessfulCreate' && notCreated.has(action.event.message)) break;
          ctx.record(action.event);
          break;
      }
    }
    // Refused: not an error of ours (nothing is logged), but worth another look after a back-off.
    return refused ? { requeue: true } : requeueAfter(requeueAfterMs);
  },
});
