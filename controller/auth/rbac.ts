// Kubernetes RBAC: a request is allowed when some binding that names the caller (a User by name, a
// Group it is in, a ServiceAccount by its system:serviceaccount:NS:NAME user) grants a role with a
// rule that covers it. ClusterRoleBindings grant everywhere; a RoleBinding grants in its own
// namespace, whether it refers to a Role there or to a ClusterRole. Nothing denies: without a
// covering rule the answer is no.
//
// rbacDecision is pure; RbacAuthorizer reads the roles and bindings from informers (so a new
// binding counts as soon as the controller's cache has it, as kube-apiserver's does).

import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject } from '../../proto/resources';
import { Informer } from '../cache';
import type { Registry } from '../objects';
import type { Authorizer, Decision, RequestAttributes } from './authorizer';
import type { Identity } from './identity';

export interface RbacPolicy {
  clusterRoleBindings: readonly ClusterRoleBinding[];
  /** The RoleBindings of one namespace. */
  roleBindings(namespace: string): readonly RoleBinding[];
  clusterRole(name: string): ClusterRole | undefined;
  role(namespace: string, name: string): Role | undefined;
}

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

/** Whether `subject` names the caller. */
export function subjectMatches(subject: Subject, identity: Identity, bindingNamespace?: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === identity.user;
    case 'Group':
      return identity.groups.includes(subject.name);
    case 'ServiceAccount':
      return identity.user === `${SERVICE_ACCOUNT_PREFIX}${subject.namespace ?? bindingNamespace ?? ''}:${subject.name}`;
    default:
      return false;
  }
}

const has = (list: readonly string[] | undefined, value: string) => !!list && (list.includes('*') || list.includes(value));

/** Whether a rule covers the request, as Kubernetes' RuleAllows. */
export function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!has(rule.apiGroups, a.apiGroup)) return false;
  const resources = rule.resources ?? [];
  const resourceMatches = a.subresource
    ? resources.includes('*') || resources.includes(`${a.resource}/${a.subresource}`) || resources.includes(`*/${a.subresource}`)
    : resources.includes('*') || resources.includes(a.resource);
  if (!resourceMatches) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) return !!a.name && rule.resourceNames.includes(a.name);
  return true;
}

export function rbacDecision(policy: RbacPolicy, identity: Identity, a: RequestAttributes): Decision {
  const grants = (rules: readonly PolicyRule[] | undefined) => (rules ?? []).some((r) => ruleAllows(r, a));
  const who = (s: Subject) => `${s.kind} "${s.name}"`;
  for (const b of policy.clusterRoleBindings) {
    const subject = b.subjects?.find((s) => subjectMatches(s, identity));
    if (!subject || b.roleRef.kind !== 'ClusterRole') continue;
    if (grants(policy.clusterRole(b.roleRef.name)?.rules)) {
      return { allowed: true, reason: `RBAC: allowed by ClusterRoleBinding "${b.metadata.name}" of ClusterRole "${b.roleRef.name}" to ${who(subject)}` };
    }
  }
  if (a.namespace) {
    for (const b of policy.roleBindings(a.namespace)) {
      const subject = b.subjects?.find((s) => subjectMatches(s, identity, b.metadata.namespace));
      if (!subject) continue;
      const rules = b.roleRef.kind === 'ClusterRole' ? policy.clusterRole(b.roleRef.name)?.rules : policy.role(a.namespace, b.roleRef.name)?.rules;
      if (grants(rules)) {
        return { allowed: true, reason: `RBAC: allowed by RoleBinding "${b.metadata.name}/${a.namespace}" of ${b.roleRef.kind} "${b.roleRef.name}" to ${who(subject)}` };
      }
    }
  }
  return { allowed: false, reason: '' };
}

/** RBAC over the controller's own caches of roles and bindings. */
export class RbacAuthorizer implements Authorizer {
  private readonly roles: Informer<Role>;
  private readonly clusterRoles: Informer<ClusterRole>;
  private readonly roleBindings: Informer<RoleBinding>;
  private readonly clusterRoleBindings: Informer<ClusterRoleBinding>;

  constructor(registry: Registry) {
    this.roles = new Informer<Role>(registry, 'Role');
    this.clusterRoles = new Informer<ClusterRole>(registry, 'ClusterRole');
    this.roleBindings = new Informer<RoleBinding>(registry, 'RoleBinding');
    this.clusterRoleBindings = new Informer<ClusterRoleBinding>(registry, 'ClusterRoleBinding');
  }

  async start(): Promise<void> {
    await Promise.all([this.roles.start(), this.clusterRoles.start(), this.roleBindings.start(), this.clusterRoleBindings.start()]);
  }

  stop(): void {
    for (const i of [this.roles, this.clusterRoles, this.roleBindings, this.clusterRoleBindings]) i.stop();
  }

  async authorize(identity: Identity, attributes: RequestAttributes): Promise<Decision> {
    return rbacDecision({
      clusterRoleBindings: this.clusterRoleBindings.list(),
      roleBindings: (ns) => this.roleBindings.list((b) => b.metadata.namespace === ns),
      clusterRole: (name) => this.clusterRoles.get(undefined, name),
      role: (ns, name) => this.roles.get(ns, name),
    }, identity, attributes);
  }
}
