// What a node's certificate lets it do, as Kubernetes' Node authorizer and NodeRestriction
// admission: act on its own Node and Lease, the pods bound to it and events about them, and its own
// tunnel, nothing else. Pure: the handlers give the caller and what it asks for.

import { BerthError } from '../../proto/errors';
import { pinnedHostname, podReferences, type PersistentVolume, type Pod } from '../../proto/resources';
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

/**
 * A ConfigMap or Secret a node may read: one that a pod bound to it in that namespace names (as
 * Kubernetes' Node authorizer follows the graph from node to pod to secret), nothing else.
 */
export function requireReferenced(caller: string, kind: 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim', namespace: string, name: string, pods: readonly Pod[]): void {
  const names = (p: Pod) => {
    const refs = podReferences(p);
    return kind === 'ConfigMap' ? refs.configMaps : kind === 'Secret' ? refs.secrets : refs.claims;
  };
  const referenced = pods.some((p) => p.spec.nodeName === caller && (p.metadata.namespace ?? 'default') === namespace && names(p).has(name));
  if (!referenced) {
    throw new BerthError('permission-denied', `node "${caller}" may not read ${kind.toLowerCase()} ${namespace}/${name}: no pod bound to it refers to it`);
  }
}

/**
 * A PersistentVolume a node may read: one pinned to it (a local volume whose directory it keeps),
 * or one bound to a claim that a pod bound to it names.
 */
export function requireReachableVolume(caller: string, pv: PersistentVolume, pods: readonly Pod[]): void {
  if (pinnedHostname(pv.spec.nodeAffinity?.required?.nodeSelectorTerms) === caller) return;
  const ref = pv.spec.claimRef;
  const referenced = ref && pods.some((p) => p.spec.nodeName === caller && (p.metadata.namespace ?? 'default') === (ref.namespace ?? 'default') && podReferences(p).claims.has(ref.name));
  if (!referenced) throw new BerthError('permission-denied', `node "${caller}" may not read persistentvolume ${pv.metadata.name}: it is not on this node and no pod bound to it uses it`);
}
