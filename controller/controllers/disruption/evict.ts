// The eviction the API serves (Kubernetes' pods/eviction subresource): a pod is deleted only if
// its disruption budget allows it, and the budget's allowance is taken in the same breath. The
// budget is written first, conditionally on the version the verdict read: a second eviction that
// raced this one conflicts, re-reads, and finds the allowance gone.

import { BerthError } from '../../../proto/errors';
import type { Pod, PodDisruptionBudget } from '../../../proto/resources';
import type { Clock, Registry } from '../../objects';
import { evictionVerdict } from './plan';

const ATTEMPTS = 20;

/** Evict a pod: delete it (gracefully) when its budget allows; else a resource-exhausted error (try later). */
export async function evictPod(registry: Registry, namespace: string, name: string, clock: Clock): Promise<Pod> {
  for (let attempt = 0; ; attempt++) {
    const pod = await registry.get<Pod>('Pod', namespace, name);
    const { items: budgets } = await registry.list<PodDisruptionBudget>('PodDisruptionBudget', { namespace });
    const verdict = evictionVerdict(pod, budgets, clock());
    if (verdict.type === 'refuse') throw new BerthError(verdict.code, verdict.message);
    if (verdict.type === 'take-disruption') {
      try {
        await registry.update({ ...verdict.budget, status: verdict.status });
      } catch (err) {
        if (err instanceof BerthError && err.code === 'conflict' && attempt < ATTEMPTS) continue;
        throw err;
      }
    }
    return registry.delete<Pod>('Pod', namespace, name);
  }
}
