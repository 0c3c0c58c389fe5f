// Whether a user may do something to a resource: the attributes of a request as Kubernetes'
// authorizers see them (verb, resource[/subresource], API group, namespace, name), a decision, and
// the message Kubernetes gives when it says no.

import { BerthError } from '../../proto/errors';
import { MASTERS_GROUP, type Identity } from './identity';

export interface RequestAttributes {
  verb: string;
  /** Plural: "pods", "deployments". */
  resource: string;
  /** "log", "exec", "status". */
  subresource?: string;
  apiGroup: string;
  /** Undefined: cluster-scoped, or every namespace. */
  namespace?: string;
  name?: string;
}

export interface Decision {
  allowed: boolean;
  /** Why: the binding that allowed it, or why nothing did. */
  reason: string;
}

export interface Authorizer {
  authorize(identity: Identity, attributes: RequestAttributes): Promise<Decision>;
}

/** Members of system:masters may do anything, whatever the other authorizers say (as Kubernetes). */
export function mastersFirst(next: Authorizer): Authorizer {
  return {
    authorize: (identity, attributes) =>
      identity.groups.includes(MASTERS_GROUP)
        ? Promise.resolve({ allowed: true, reason: `member of ${MASTERS_GROUP}` })
        : next.authorize(identity, attributes),
  };
}

/** "pods/log", "deployments.apps". */
export function resourceName(a: RequestAttributes): string {
  return `${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
}

/** Kubernetes' refusal, e.g. `pods "web" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "default"`. */
export function forbidden(identity: Identity, a: RequestAttributes, reason?: string): BerthError {
  const group = a.apiGroup ? `.${a.apiGroup}` : '';
  const object = a.name ? `${a.resource}${group} "${a.name}"` : `${a.resource}${group}`;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return new BerthError('permission-denied', `${object} is forbidden: User "${identity.user}" cannot ${a.verb} resource "${resourceName(a)}" in API group "${a.apiGroup}" ${scope}${reason ? `: ${reason}` : ''}`);
}

/** authorize, or throw forbidden. */
export async function requireAllowed(authorizer: Authorizer, identity: Identity, attributes: RequestAttributes): Promise<void> {
  const decision = await authorizer.authorize(identity, attributes);
  if (!decision.allowed) throw forbidden(identity, attributes, decision.reason || undefined);
}
