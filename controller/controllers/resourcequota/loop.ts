// The resource quota loop (Kubernetes' resourcequota controller): a quota's key -> its objects
// counted from the store -> status.hard and status.used written when they changed. Admission
// raises status.used as it admits; this recount brings it back to the truth when objects go or a
// charged create failed. Woken by the quota and by its namespace's pods, services and claims;
// recounted every RECOUNT_MS for the kinds without a cache here.

import type { ResourceQuota } from '../../../proto/resources';
import type { Informer } from '../../cache';
import { asResourceList } from '../../admission';
import { sameJson } from '../meta';
import { splitKey, watchNamespaceSummaries, writeStatusIfUnchanged, type ControlLoop } from '../run-controller';

const RECOUNT_MS = 15_000;

export const resourceQuotaLoop: ControlLoop = {
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
    const used = asResourceList(await ctx.registry.liveQuotaUsage(quota));
    const status: ResourceQuota['status'] = { hard: quota.spec.hard ?? {}, used };
    if (!sameJson(status, quota.status)) await writeStatusIfUnchanged(ctx, ctx.caches.resourceQuotas, written, quota, status);
    return { requeueAfterMs: RECOUNT_MS };
  },
};
