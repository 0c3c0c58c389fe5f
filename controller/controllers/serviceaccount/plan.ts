// The service account controller's decision (Kubernetes' serviceaccounts-controller): every
// namespace that is not being deleted has a ServiceAccount "default". Pure.

import type { Namespace, ServiceAccount } from '../../../proto/resources';
import type { Plan } from '../types';

export const DEFAULT_SERVICE_ACCOUNT = 'default';

export interface CreateServiceAccount {
  type: 'create';
  namespace: string;
}

export function plan(namespaces: readonly Namespace[], accounts: readonly ServiceAccount[]): Plan<CreateServiceAccount> {
  const has = new Set(accounts.filter((a) => a.metadata.name === DEFAULT_SERVICE_ACCOUNT).map((a) => a.metadata.namespace));
  return {
    actions: namespaces
      .filter((ns) => !ns.metadata.deletionTimestamp && ns.status?.phase !== 'Terminating' && !has.has(ns.metadata.name))
      .map((ns) => ({ type: 'create', namespace: ns.metadata.name! })),
  };
}
