// The ephemeral volume loop: a pod's key -> plan (./plan.ts) -> claims made for its generic
// ephemeral volumes. Woken by pods, and by a claim of a pod going (a pod waiting on a name taken
// by another claim gets it once that one is gone).

import type { PersistentVolumeClaim } from '../../../proto/resources';
import { BerthError } from '../../../proto/errors';
import { ignoreNotFound } from '../../objects';
import { eventFor } from '../meta';
import { queueKey, splitKey, type ControlLoop } from '../run-controller';
import { plan } from './plan';

/** The component name on its events, as Kubernetes' controller-manager names it. */
const COMPONENT = 'ephemeral_volume';

export const ephemeralVolumeLoop: ControlLoop = {
  workers: 1,
  watch(caches, enqueue) {
    caches.pods.onChange((_type, pod) => {
      if ((pod.spec.volumes ?? []).some((v) => v.ephemeral)) enqueue(queueKey(pod.metadata.namespace, pod.metadata.name));
    });
    caches.claims.onChange((type, claim) => {
      if (type !== 'DELETED') return;
      // <pod>-<volume>: the pods of the namespace whose ephemeral claim it could be.
      for (const pod of caches.pods.list((p) => p.metadata.namespace === claim.metadata.namespace && claim.metadata.name!.startsWith(`${p.metadata.name}-`))) {
        enqueue(queueKey(pod.metadata.namespace, pod.metadata.name));
      }
    });
  },
  async reconcile(ctx, key, written) {
    const [namespace, name] = splitKey(key);
    const pod = ctx.caches.pods.get(namespace, name);
    if (!pod) return;
    const claims = ctx.caches.claims.list((c) => c.metadata.namespace === pod.metadata.namespace);
    for (const action of plan(pod, claims).actions) {
      if (action.type === 'conflict') {
        ctx.record(eventFor(pod, COMPONENT, 'Warning', 'FailedBinding', `PVC ${pod.metadata.namespace}/${action.claim} was not created for pod ${pod.metadata.namespace}/${pod.metadata.name} (pod is not owner)`));
        continue;
      }
      const made = await ctx.registry.create<PersistentVolumeClaim>(action.claim).catch((err: unknown) => {
        // Made meanwhile (another pass): the next pass sees whose it is.
        if (err instanceof BerthError && err.code === 'already-exists') return undefined;
        ctx.record(eventFor(pod, COMPONENT, 'Warning', 'FailedBinding', `create PVC ${action.claim.metadata.name}: ${(err as Error).message}`));
        throw err;
      });
      if (!made) continue;
      written.note(ctx.caches.claims, made);
      // The pod went while its claim was being made: nothing would ever collect the claim (its
      // owner's deletion has passed), so it goes now.
      const still = await ctx.registry.tryGet('Pod', pod.metadata.namespace, pod.metadata.name!);
      if (!still || still.metadata.uid !== pod.metadata.uid) {
        written.note(ctx.caches.claims, await ctx.registry.delete('PersistentVolumeClaim', made.metadata.namespace, made.metadata.name!).catch(ignoreNotFound));
      }
    }
  },
};
