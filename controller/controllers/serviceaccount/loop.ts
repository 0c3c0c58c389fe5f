// The service account loop: carries out ./plan.ts whenever a namespace or a service account changes.

import type { ServiceAccount } from '../../../proto/resources';
import type { ControlLoop } from '../run-controller';
import { DEFAULT_SERVICE_ACCOUNT, plan } from './plan';

const KEY = 'serviceaccounts';

export const serviceAccountLoop: ControlLoop = {
  workers: 1,
  watch(caches, enqueue) {
    caches.namespaces.onChange(() => enqueue(KEY));
    caches.serviceAccounts.onChange((type) => {
      if (type === 'DELETED') enqueue(KEY);
    });
  },
  initialKeys: [KEY],
  async reconcile(ctx, _key, written) {
    for (const action of plan(ctx.caches.namespaces.list(), ctx.caches.serviceAccounts.list()).actions) {
      const account: ServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace: action.namespace } };
      const made = await ctx.registry.create(account).catch((err: { code?: string }) => {
        if (err.code !== 'already-exists' && err.code !== 'not-found') throw err;
        return undefined;
      });
      if (made) written.note(ctx.caches.serviceAccounts as never, made);
    }
  },
};
