// The resource quota loop (Kubernetes' resourcequota controller): a quota's key -> its objects
// counted from the store -> status.hard and status.used written when they changed. Admission
// raises status.used as it admits; this recount brings it back to the truth when objects go or a
// charged create failed. Woken by the quota and by its namespace's pods, services and claims;
// recounted every RECOUNT_MS for the kinds without a cache here.

import type { ResourceQuota } from '../../../proto/resources';
import type { Informer } from '../../cache';
import { asResourceList } from '../../admission';
import { sameJson } from '../meta';
import { splitKey, watchNamespaceSummaries, writeStatus, type ControlLoop } from '../run-controller';

const RECOUNT_MS = 15_000;

export const resourceQuotaLoop: ControlLoop = {
  workers: 1,
  watch(caches, enqueue) {
    watchNamespaceSummaries(caches.resourceQuotas, [caches.pods, caches.services, caches.claims] as Informer[], enqueue);
  },
  async reconcile(ctx, key, written) {
    const [namespace, name] = splitKey(key);
    const quota = ctx.caches.resourceQuotas.get(namespace, name);
    if (!quota || quota.metadata.deletionTimestamp) return;
    const used = asResourceList(await ctx.registry.liveQuotaUsage(quota));
    const status: ResourceQuota['status'] = { hard: quota.spec.hard ?? {}, used };
    if (!sameJson(status, quota.status)) await writeStatus(ctx, ctx.caches.resourceQuotas, written, quota, status);
    return { requeueAfterMs: RECOUNT_MS };
  },
};
