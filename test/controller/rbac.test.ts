// RBAC's decision, pure: which rules cover which requests, which bindings name which callers, and
// where a RoleBinding's grant ends.

import t from 'tap';
import { BOOTSTRAP_CLUSTER_ROLES, rbacDecision, ruleAllows, subjectMatches, type RbacPolicy, type RequestAttributes } from '../../controller/auth';
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from '../../proto/resources';

const req = (verb: string, resource: string, extra: Partial<RequestAttributes> = {}): RequestAttributes => ({ verb, resource, apiGroup: '', ...extra });

t.test('rules: verbs, API groups, resources, subresources, resource names, wildcards', async (t) => {
  const rule = { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] };
  t.ok(ruleAllows(rule, req('get', 'pods', { namespace: 'a', name: 'x' })));
  t.notOk(ruleAllows(rule, req('delete', 'pods')), 'another verb');
  t.notOk(ruleAllows(rule, req('get', 'deployments', { apiGroup: 'apps' })), 'another group');
  t.notOk(ruleAllows(rule, req('get', 'pods', { subresource: 'log' })), 'pods does not cover pods/log');
  t.ok(ruleAllows({ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }, req('get', 'pods', { subresource: 'log' })));
  t.ok(ruleAllows({ apiGroups: [''], resources: ['*/log'], verbs: ['get'] }, req('get', 'pods', { subresource: 'log' })));
  t.ok(ruleAllows({ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, req('escalate', 'roles', { apiGroup: 'rbac.authorization.k8s.io', subresource: 'x' })));
  const named = { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'], resourceNames: ['web'] };
  t.ok(ruleAllows(named, req('get', 'pods', { name: 'web' })));
  t.notOk(ruleAllows(named, req('get', 'pods', { name: 'db' })));
  t.notOk(ruleAllows(named, req('list', 'pods')), 'a list names no object: resourceNames do not cover it');
  t.notOk(ruleAllows({ apiGroups: [''], resources: ['pods'], verbs: [] }, req('get', 'pods')));
});

t.test('subjects: users, groups, service accounts', async (t) => {
  const alice = { user: 'alice', groups: ['dev', 'system:authenticated'] };
  t.ok(subjectMatches({ kind: 'User', name: 'alice' }, alice));
  t.notOk(subjectMatches({ kind: 'User', name: 'bob' }, alice));
  t.ok(subjectMatches({ kind: 'Group', name: 'dev' }, alice));
  const sa = { user: 'system:serviceaccount:shop:builder', groups: [] };
  t.ok(subjectMatches({ kind: 'ServiceAccount', name: 'builder', namespace: 'shop' }, sa));
  t.ok(subjectMatches({ kind: 'ServiceAccount', name: 'builder' }, sa, 'shop'), 'a RoleBinding\'s namespace is the default');
  t.notOk(subjectMatches({ kind: 'ServiceAccount', name: 'builder', namespace: 'other' }, sa));
});

t.test('bindings: cluster-wide, per namespace, to a Role or a ClusterRole; nothing else allows', async (t) => {
  const rb = (ns: string, name: string, roleKind: 'Role' | 'ClusterRole', role: string, subject: string): RoleBinding => ({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace: ns },
    subjects: [{ kind: 'User', name: subject }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: role },
  });
  const roles: Role[] = [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'deployer', namespace: 'shop' }, rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'] }] }];
  const crbs: ClusterRoleBinding[] = [{
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'auditors' },
    subjects: [{ kind: 'Group', name: 'auditors' }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
  }];
  const rbs = [rb('shop', 'alice-view', 'ClusterRole', 'view', 'alice'), rb('shop', 'alice-deploy', 'Role', 'deployer', 'alice')];
  const policy: RbacPolicy = {
    clusterRoleBindings: crbs,
    roleBindings: (ns) => rbs.filter((b) => b.metadata.namespace === ns),
    clusterRole: (name) => BOOTSTRAP_CLUSTER_ROLES.find((r) => r.metadata.name === name) as ClusterRole | undefined,
    role: (ns, name) => roles.find((r) => r.metadata.namespace === ns && r.metadata.name === name),
  };
  const alice = { user: 'alice', groups: ['system:authenticated'] };
  t.same(rbacDecision(policy, alice, req('list', 'pods', { namespace: 'shop' })), { allowed: true, reason: 'RBAC: allowed by RoleBinding "alice-view/shop" of ClusterRole "view" to User "alice"' });
  t.notOk(rbacDecision(policy, alice, req('list', 'pods', { namespace: 'default' })).allowed, 'a RoleBinding grants in its namespace only');
  t.notOk(rbacDecision(policy, alice, req('list', 'pods')).allowed, 'nor across every namespace');
  t.notOk(rbacDecision(policy, alice, req('delete', 'pods', { namespace: 'shop', name: 'x' })).allowed, 'view does not delete');
  t.ok(rbacDecision(policy, alice, req('patch', 'deployments', { apiGroup: 'apps', namespace: 'shop', name: 'web' })).allowed, 'a Role in the namespace');
  const auditor = { user: 'carol', groups: ['auditors'] };
  t.same(rbacDecision(policy, auditor, req('list', 'pods')), { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "auditors" of ClusterRole "view" to Group "auditors"' });
  t.notOk(rbacDecision(policy, auditor, req('list', 'secrets', { namespace: 'kube-system' })).allowed, 'view reads no secrets');
  t.notOk(rbacDecision(policy, { user: 'mallory', groups: [] }, req('get', 'pods', { namespace: 'shop' })).allowed);
});
