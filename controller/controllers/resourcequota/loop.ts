// The resource quota loop (Kubernetes' resourcequota controller): a quota's key -> its objects
// counted from the store -> status.hard and status.used written when they changed. Admission
// raises status.used as it admits; this recount brings it back to the truth when objects go or a
// charged create failed. Woken by the quota and by its namespace's pods, services and claims;
// recounted every RECOUNT_MS for the kinds without a cache here.

import type { ResourceQuota } from '../../../proto/resources';
import type { Informer } from '../../cache';
import { amounts, asResourceList } from '../../admission';
import { sameJson } from '../meta';
import { splitKey, watchNamespaceSummaries, writeStatusIfUnchanged, type ControlLoop } from '../run-controller';

const RECOUNT_MS = 15_000;
/**
 * A recount lower than what is recorded is written only when a second look this long later finds
 * the quota unchanged and the same count: admission charges a quota before it stores the object,
 * so a recount in between would otherwise give the charge back and let another object in.
 */
const CONFIRM_LOWER_MS = 2_000;

export function resourceQuotaLoop(): ControlLoop {
  /** Lower counts seen once, by quota key: the quota's version then, and the count. */
  const lowerSeen = new Map<string, { resourceVersion: string | undefined; used: string }>();
  return {
    workers: 1,
    watch(caches, enqueue) {
      watchNamespaceSummaries(caches.resourceQuotas, [caches.pods, caches.services, caches.claims] as Informer[], enqueue);
    },
    async reconcile(ctx, key, written) {
      const [namespace, name] = splitKey(key);
      // The quota as stored, then its objects, then a write conditional on that version: a charge
      // admission made meanwhile makes the write conflict (and the recount runs again).
      const quota = await ctx.registry.tryGet<ResourceQuota>('ResourceQuota', namespace, name);
      if (!quota || quota.metadata.deletionTimestamp) return;
      const counted = await ctx.registry.liveQuotaUsage(quota);
      const used = asResourceList(counted);
      const recorded = amounts(quota.status?.used);
      const lower = [...counted].some(([k, n]) => n < (recorded.get(k) ?? 0));
      if (lower) {
        const seen = lowerSeen.get(key);
        const again = JSON.stringify(used);
        if (!seen || seen.resourceVersion !== quota.metadata.resourceVersion || seen.used !== again) {
          lowerSeen.set(key, { resourceVersion: quota.metadata.resourceVersion, used: again });
          return { requeueAfterMs: CONFIRM_LOWER_MS };
        }
      }
      lowerSeen.delete(key);
      const status: ResourceQuota['status'] = { hard: quota.spec.hard ?? {}, used };
      if (!sameJson(status, quota.status)) await writeStatusIfUnchanged(ctx, ctx.caches.resourceQuotas, written, quota, status);
      return { requeueAfterMs: RECOUNT_MS };
    },
  };
}
