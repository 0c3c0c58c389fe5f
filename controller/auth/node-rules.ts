// What a node's certificate lets it do, as Kubernetes' Node authorizer and NodeRestriction
// admission: act on its own Node and Lease, the pods bound to it and events about them, and its own
// tunnel, nothing else. Pure: the handlers give the caller and what it asks for.

import { BerthError } from '../../proto/errors';
import { NODES_GROUP, nodeNameOf } from '../../proto/trust';
import type { Identity } from './identity';

/** The node the caller is, or PERMISSION_DENIED when its certificate is not a node's. */
export function callerNode(identity: Identity, method: string): string {
  const node = nodeNameOf(identity.user);
  if (!node || !identity.groups.includes(NODES_GROUP)) {
    throw new BerthError('permission-denied', `User "${identity.user}" cannot call Node.${method}: only nodes (certificates for system:node:NAME in group ${NODES_GROUP}) may`);
  }
  return node;
}

/** The caller names itself, or PERMISSION_DENIED: node A asking for node B's anything. */
export function requireOwnNode(caller: string, named: string, what: string): void {
  if (named !== caller) throw new BerthError('permission-denied', `node "${caller}" is not allowed to ${what} node "${named}"`);
}

/** A pod the caller reports on must be bound to it. */
export function requireBoundPod(caller: string, pod: { namespace: string; name: string; nodeName: string | undefined }, what: string): void {
  if (pod.nodeName !== caller) {
    throw new BerthError('permission-denied', `node "${caller}" is not allowed to ${what} pod ${pod.namespace}/${pod.name}: it is ${pod.nodeName ? `bound to node "${pod.nodeName}"` : 'not bound to any node'}`);
  }
}
