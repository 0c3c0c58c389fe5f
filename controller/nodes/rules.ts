// The node session rules as pure functions (see types.ts): what registering, renewing and being
// declared lost do to a node's Node and Lease, and which reports a session may make.

import { INGRESS_PORTS_ANNOTATION, NODE_LEASE_NAMESPACE, type Condition, type Lease, type Node, type Pod } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { isNodeName } from '../../proto/trust';
import type { ObjectFilter } from '../objects/types';
import type { Registration } from './types';

export function requireValidNodeName(name: string): void {
  if (!isNodeName(name)) throw new BerthError('invalid-argument', `node name "${name}" is not a valid DNS-1123 subdomain`);
}

/** A node's epoch is its lease's transition count: registering and being declared lost move it. */
export function epochOf(lease: Lease): number {
  return lease.spec.leaseTransitions ?? 0;
}

/** The lease, when `epoch` is current; else why the caller must register (again). */
export function checkEpoch(nodeName: string, lease: Lease | undefined, epoch: string | number): Lease {
  if (!lease) throw new BerthError('failed-precondition', `node "${nodeName}" is not registered: register first`);
  const current = epochOf(lease);
  if (Number(epoch) !== current) {
    throw new BerthError('failed-precondition', `node "${nodeName}": epoch ${epoch} is stale (current ${current}): register again and resync`);
  }
  return lease;
}

/** The condition an agent's registration sets. */
export function registeredReady(now: string): Condition {
  return { type: 'Ready', status: 'True', reason: 'AgentReady', message: 'berth agent is posting ready status', lastTransitionTime: now, lastUpdateTime: now };
}

/** An existing Node on registration: the agent's labels and status, Ready kept since when it was. */
export function reregisteredNode(node: Node, sent: Node, ready: Condition): Node {
  return {
    ...node,
    // The agent's annotations (its VXLAN endpoint, for one) over what others set.
    metadata: { ...node.metadata, labels: sent.metadata.labels, ...mergedAnnotations(node.metadata.annotations, sent.metadata.annotations) },
    status: { ...sent.status, conditions: [keepTransition(node.status?.conditions, ready)] },
  };
}

export function newNode(name: string, sent: Node, ready: Condition): Node {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: sent.metadata.labels, ...mergedAnnotations(undefined, sent.metadata.annotations) },
    spec: {}, status: { ...sent.status, conditions: [ready] },
  };
}

/**
 * Annotations only the agent says: one it no longer sends is gone (an agent restarted without
 * ingress ports serves no Ingresses, and may no longer read their Secrets).
 */
const AGENT_OWNED_ANNOTATIONS = [INGRESS_PORTS_ANNOTATION];

function mergedAnnotations(current: Record<string, string> | undefined, sent: Record<string, string> | undefined): { annotations?: Record<string, string> } {
  const merged = { ...current, ...sent };
  for (const key of AGENT_OWNED_ANNOTATIONS) if (sent?.[key] === undefined) delete merged[key];
  return Object.keys(merged).length > 0 ? { annotations: merged } : {};
}

/** An existing lease on registration: a new epoch, renewed and acquired now (no longer "lost"). */
export function reregisteredLease(lease: Lease, now: string): Lease {
  return { ...lease, spec: { ...lease.spec, renewTime: now, acquireTime: now, leaseTransitions: epochOf(lease) + 1 } };
}

export function newLease(name: string, now: string, leaseDurationMs: number): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: NODE_LEASE_NAMESPACE },
    spec: { holderIdentity: name, leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000), acquireTime: now, renewTime: now, leaseTransitions: 1 },
  };
}

/** Renewal at `epoch`, refused when the epoch moved on since it was checked. */
export function renewedLease(nodeName: string, lease: Lease, epoch: string | number, now: string): Lease {
  if (String(epochOf(lease)) !== String(epoch)) throw new BerthError('failed-precondition', `node "${nodeName}": epoch ${epoch} is stale: register again and resync`);
  return { ...lease, spec: { ...lease.spec, renewTime: now } };
}

/** What the agent is told: renew four times per lease, but not more often than every 100 ms; whether it is cordoned. */
export function registration(lease: Lease, leaseDurationMs: number, node: Node): Registration {
  return {
    epoch: lease.spec.leaseTransitions ?? 1,
    leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
    renewIntervalMs: Math.max(100, Math.floor(leaseDurationMs / 4)),
    unschedulable: node.spec?.unschedulable === true,
  };
}

/**
 * Declared lost already: the bump stamps acquireTime after the last renewal; registering or
 * renewing undoes that.
 */
export function isDeclaredLost(lease: Lease): boolean {
  // An absent or unreadable time parses as NaN, and NaN compares false: not lost.
  return Date.parse(lease.spec.acquireTime ?? '') > Date.parse(lease.spec.renewTime ?? '');
}

/** The lease of a node declared lost at `now`: its agent's epoch is stale from here on. */
export function withEpochBumped(lease: Lease, now: Date): Lease {
  return {
    ...lease,
    metadata: { ...lease.metadata },
    spec: { ...lease.spec, leaseTransitions: epochOf(lease) + 1, acquireTime: now.toISOString() },
  };
}

/** The pods a node's agent sees: those bound to it. */
export function boundTo(nodeName: string): ObjectFilter {
  return (o) => (o as Pod).spec?.nodeName === nodeName;
}

/** A status is for this pod only while it is the same pod (uid) on the same node; else old news. */
export function reportConcerns(pod: Pod | undefined, nodeName: string, uid: string): pod is Pod {
  return !!pod && pod.metadata.uid === uid && pod.spec.nodeName === nodeName;
}

/** The condition as given, keeping the earlier transition time when its status did not change. */
function keepTransition(previous: Condition[] | undefined, next: Condition): Condition {
  const before = previous?.find((c) => c.type === next.type);
  return before && before.status === next.status ? { ...next, lastTransitionTime: before.lastTransitionTime } : next;
}
