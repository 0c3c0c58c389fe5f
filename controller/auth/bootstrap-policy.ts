// The roles every cluster starts with, after Kubernetes' bootstrap policy: cluster-admin (anything),
// and the user-facing admin, edit and view to bind per namespace or cluster-wide; and the binding
// that makes the admin's group (system:masters) cluster-admin. Made once when missing: a user's
// later changes to them are kept.

import { RBAC_API_VERSION, type ClusterRole, type ClusterRoleBinding, type PolicyRule } from '../../proto/resources';
import type { Registry } from '../objects';
import { MASTERS_GROUP } from './identity';

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];

const viewRules: PolicyRule[] = [
  { apiGroups: [''], resources: ['pods', 'pods/log', 'pods/status', 'events', 'serviceaccounts', 'namespaces', 'namespaces/status'], verbs: READ },
  { apiGroups: ['apps'], resources: ['deployments', 'deployments/status', 'deployments/scale', 'replicasets', 'replicasets/status', 'replicasets/scale'], verbs: READ },
];
const editRules: PolicyRule[] = [
  ...viewRules,
  { apiGroups: [''], resources: ['pods', 'serviceaccounts'], verbs: WRITE },
  { apiGroups: [''], resources: ['pods/exec', 'pods/attach'], verbs: ['create', 'get'] },
  { apiGroups: ['apps'], resources: ['deployments', 'deployments/scale', 'replicasets', 'replicasets/scale'], verbs: WRITE },
];
const adminRules: PolicyRule[] = [
  ...editRules,
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: [...READ, ...WRITE] },
];

const clusterRole = (name: string, rules: PolicyRule[]): ClusterRole => ({
  apiVersion: RBAC_API_VERSION, kind: 'ClusterRole', metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } }, rules,
});

export const BOOTSTRAP_CLUSTER_ROLES: readonly ClusterRole[] = [
  clusterRole('cluster-admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }]),
  clusterRole('admin', adminRules),
  clusterRole('edit', editRules),
  clusterRole('view', viewRules),
];

export const BOOTSTRAP_CLUSTER_ROLE_BINDINGS: readonly ClusterRoleBinding[] = [{
  apiVersion: RBAC_API_VERSION,
  kind: 'ClusterRoleBinding',
  metadata: { name: 'cluster-admin', labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
  subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: MASTERS_GROUP }],
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
}];

/** Create each bootstrap role and binding that is missing (several controllers may race: the first wins). */
export async function ensureBootstrapPolicy(registry: Registry): Promise<void> {
  for (const obj of [...BOOTSTRAP_CLUSTER_ROLES, ...BOOTSTRAP_CLUSTER_ROLE_BINDINGS]) {
    if (await registry.tryGet(obj.kind, undefined, obj.metadata.name!)) continue;
    await registry.create(structuredClone(obj)).catch((err: { code?: string }) => {
      if (err.code !== 'already-exists') throw err;
    });
  }
}
