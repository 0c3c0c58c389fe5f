// The roles every cluster starts with, after Kubernetes' bootstrap policy: cluster-admin (anything),
// and the user-facing admin, edit and view to bind per namespace or cluster-wide; and the binding
// that makes the admin's group (system:masters) cluster-admin. Made once when missing: a user's
// later changes to them are kept, unless a role still carries the bootstrapping label and not the
// autoupdate "false" annotation: then the rules of this version it lacks are added on start (as
// Kubernetes reconciles its default roles, additively), so that an upgrade's new kinds are readable.

import { RBAC_API_VERSION, type ClusterRole, type ClusterRoleBinding, type PolicyRule } from '../../proto/resources';
import type { Registry } from '../objects';
import { MASTERS_GROUP } from './identity';

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];

const WORKLOADS = ['deployments', 'deployments/scale', 'replicasets', 'replicasets/scale', 'daemonsets', 'statefulsets', 'statefulsets/scale'];
const viewRules: PolicyRule[] = [
  { apiGroups: [''], resources: ['pods', 'pods/log', 'pods/status', 'events', 'serviceaccounts', 'namespaces', 'namespaces/status', 'services', 'services/status', 'endpoints', 'configmaps', 'persistentvolumeclaims',
    'replicationcontrollers', 'replicationcontrollers/scale', 'replicationcontrollers/status', 'limitranges', 'resourcequotas', 'resourcequotas/status'], verbs: READ },
  { apiGroups: ['apps'], resources: [...WORKLOADS, 'deployments/status', 'replicasets/status', 'daemonsets/status', 'statefulsets/status', 'controllerrevisions'], verbs: READ },
  { apiGroups: ['batch'], resources: ['jobs', 'jobs/status', 'cronjobs', 'cronjobs/status'], verbs: READ },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets', 'poddisruptionbudgets/status'], verbs: READ },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies', 'ingresses', 'ingresses/status'], verbs: READ },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers', 'horizontalpodautoscalers/status'], verbs: READ },
  // As Kubernetes' system:aggregated-metrics-reader, which view aggregates.
  { apiGroups: ['metrics.k8s.io'], resources: ['pods', 'nodes'], verbs: READ },
];
// As Kubernetes' edit: everything view reads, written, and Secrets (which view may not read).
const editRules: PolicyRule[] = [
  ...viewRules,
  // Not endpoints: who writes them sends a Service's traffic anywhere (Kubernetes took them out of edit, CVE-2021-25740).
  { apiGroups: [''], resources: ['pods', 'serviceaccounts', 'services', 'configmaps', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale'], verbs: WRITE },
  { apiGroups: [''], resources: ['secrets'], verbs: [...READ, ...WRITE] },
  { apiGroups: [''], resources: ['pods/exec', 'pods/attach', 'pods/portforward'], verbs: ['create', 'get'] },
  { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
  { apiGroups: ['apps'], resources: WORKLOADS, verbs: WRITE },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: WRITE },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies', 'ingresses'], verbs: WRITE },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: WRITE },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: WRITE },
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

/**
 * Create each bootstrap role and binding that is missing (several controllers may race: the first
 * wins); bring a bootstrap role's rules up to date unless the user took it over (label removed,
 * or rbac.authorization.kubernetes.io/autoupdate: "false").
 */
export async function ensureBootstrapPolicy(registry: Registry): Promise<void> {
  for (const obj of [...BOOTSTRAP_CLUSTER_ROLES, ...BOOTSTRAP_CLUSTER_ROLE_BINDINGS]) {
    const current = await registry.tryGet(obj.kind, undefined, obj.metadata.name!);
    if (current) {
      if (obj.kind === 'ClusterRole' && current.kind === 'ClusterRole' && reconciles(current)) {
        // Additive, as Kubernetes' reconciliation: the rules this version has that the role lacks are added; the user's own stay.
        const have = new Set((current.rules ?? []).map((r) => JSON.stringify(r)));
        const missing = (obj.rules ?? []).filter((r) => !have.has(JSON.stringify(r)));
        if (missing.length > 0) {
          await registry.update({ ...current, rules: [...(current.rules ?? []), ...structuredClone(missing)] }).catch((err: { code?: string }) => {
            if (err.code !== 'conflict') throw err;
          });
        }
      }
      continue;
    }
    await registry.create(structuredClone(obj)).catch((err: { code?: string }) => {
      if (err.code !== 'already-exists') throw err;
    });
  }
}

const reconciles = (role: ClusterRole): boolean =>
  role.metadata.labels?.['kubernetes.io/bootstrapping'] === 'rbac-defaults' && role.metadata.annotations?.['rbac.authorization.kubernetes.io/autoupdate'] !== 'false';
