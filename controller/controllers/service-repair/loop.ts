// The service allocation repair (Kubernetes' cluster IP and node port repair controllers): holds
// on cluster IPs and node ports that no Service names any more, left by a controller that died
// between taking them and writing the Service, are given back. Every minute, and after a Service
// is deleted.

import type { ControlLoop } from '../run-controller';

const KEY = 'service-allocations';
const REPAIR_EVERY_MS = 60_000;

export const serviceAllocationRepairLoop: ControlLoop = {
  workers: 1,
  watch(caches, enqueue) {
    caches.services.onChange((type) => {
      if (type === 'DELETED') enqueue(KEY);
    });
  },
  initialKeys: [KEY],
  async reconcile(ctx) {
    const allocations = ctx.registry.serviceAllocations;
    if (!allocations) return;
    await allocations.repair(ctx.caches.services.list());
    return { requeueAfterMs: REPAIR_EVERY_MS };
  },
};
