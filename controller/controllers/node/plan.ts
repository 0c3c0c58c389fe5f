// The node lifecycle controller's decisions for every node at once. See types.ts.

import { NODE_LEASE_NAMESPACE, type Condition, type Lease, type Node, type Pod } from '../../../proto/resources';
import { getCondition, newCondition } from '../conditions';
import { eventFor, keyOf, refOf, timeOf } from '../meta';
import { isBeingDeleted, isDaemonPod } from '../pods';
import { isDeclaredLost, withEpochBumped } from '../../nodes/rules';
import { NODE_CONTROLLER, NodeReason, type NodeAction, type NodeLifecycleOptions, type NodePlan } from './types';

const UNKNOWN_MESSAGE = 'Agent stopped renewing its lease.';

/** How long a new pod bound to an unknown node is left alone (its node may be registering). */
export const ORPHAN_QUARANTINE_MS = 5_000;
const READY_MESSAGE = 'berth agent is posting ready status';

/**
 * Plan for all nodes: Ready from the leases, evictions for lost nodes. `podsByNode` maps a node
 * name to the pods bound to it.
 */
export function plan(
  nodes: readonly Node[],
  leases: readonly Lease[],
  podsByNode: ReadonlyMap<string, readonly Pod[]>,
  now: Date,
  options: NodeLifecycleOptions,
): NodePlan {
  const actions: NodeAction[] = [];
  const events: NodeAction[] = [];
  let requeue: number | undefined;
  const soonest = (delay: number) => {
    requeue = requeue === undefined ? delay : Math.min(requeue, delay);
  };
  const t = now.getTime();
  const leaseOf = new Map(leases.filter((l) => l.metadata.namespace === NODE_LEASE_NAMESPACE).map((l) => [l.metadata.name, l]));

  for (const node of nodes) {
    const name = node.metadata.name ?? '';
    const lease = leaseOf.get(name);
    // No lease yet (registering): the node's creation starts the grace period.
    const renewed = timeOf(lease?.spec.renewTime) ?? timeOf(node.metadata.creationTimestamp) ?? -Infinity;
    const fresh = renewed + options.gracePeriodMs >= t;
    let ready = getCondition(node.status?.conditions, 'Ready');

    if (!fresh && ready?.status !== 'Unknown') {
      ready = transition(ready, newCondition('Ready', 'Unknown', NodeReason.NodeStatusUnknown, UNKNOWN_MESSAGE, now));
      actions.push({ type: 'set-node-condition', node: refOf(node), condition: ready });
      events.push(event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`));
    } else if (fresh && ready?.status !== 'True' && (ready === undefined || ready.reason === NodeReason.NodeStatusUnknown)) {
      // Only undo what this controller did: a Ready=False of the agent's own stays.
      ready = transition(ready, newCondition('Ready', 'True', NodeReason.AgentReady, READY_MESSAGE, now));
      actions.push({ type: 'set-node-condition', node: refOf(node), condition: ready });
      events.push(event(node, 'Normal', 'NodeReady', `Node ${name} status is now: NodeReady`));
    }

    if (fresh) {
      soonest(renewed + options.gracePeriodMs - t + 1);
      continue;
    }
    for (const pod of podsByNode.get(name) ?? []) {
      const podReady = getCondition(pod.status?.conditions, 'Ready');
      if (podReady?.status !== 'True') continue;
      actions.push({ type: 'mark-pod-not-ready', pod: refOf(pod), condition: newCondition('Ready', 'False', NodeReason.NodeStatusUnknown, `Node ${name} stopped renewing its lease.`, now) });
    }
    if (ready?.status === 'True') continue;
    const since = timeOf(ready?.lastTransitionTime) ?? t;
    if (since + options.evictionTimeoutMs >= t) {
      soonest(since + options.evictionTimeoutMs - t + 1);
      continue;
    }

    // Lost: evict its pods, and bump its epoch once.
    for (const pod of podsByNode.get(name) ?? []) {
      if (isBeingDeleted(pod) || isDaemonPod(pod)) continue;
      actions.push({ type: 'evict-pod', pod: refOf(pod), nodeName: name });
      events.push(event(pod, 'Normal', 'NodeControllerEviction', `Marking for deletion Pod ${keyOf(pod)} from Node ${name}`));
    }
    if (lease && !isDeclaredLost(lease)) {
      actions.push({ type: 'bump-node-epoch', nodeName: name, lease: withEpochBumped(lease, now) });
      events.push(event(node, 'Normal', 'DeletingAllPods', `Deleting all Pods from Node ${name}.`));
    }
  }

  // Pods bound to a node that is not there: nothing will ever stop or report them. A pod made a
  // moment ago may name a node that is registering: it gets a few seconds first.
  const known = new Set(nodes.map((n) => n.metadata.name));
  for (const [name, pods] of podsByNode) {
    if (known.has(name)) continue;
    for (const pod of pods) {
      const age = t - (timeOf(pod.metadata.creationTimestamp) ?? t);
      if (age < ORPHAN_QUARANTINE_MS) {
        soonest(ORPHAN_QUARANTINE_MS - age + 1);
        continue;
      }
      actions.push({ type: 'delete-orphaned-pod', pod: refOf(pod), nodeName: name });
      events.push(event(pod, 'Normal', 'PodGCOrphaned', `Deleting pod ${keyOf(pod)}: its node ${name} does not exist`));
    }
  }

  const result: NodePlan = { actions: [...actions, ...events] };
  if (requeue !== undefined) result.requeueAfterMs = requeue;
  return result;
}

/** The new condition, keeping the transition time when the status does not change. */
function transition(current: Condition | undefined, next: Condition): Condition {
  if (current?.status === next.status && current.lastTransitionTime) return { ...next, lastTransitionTime: current.lastTransitionTime };
  return next;
}

function event(obj: Node | Pod, type: 'Normal' | 'Warning', reason: string, message: string): NodeAction {
  return { type: 'event', event: eventFor(obj, NODE_CONTROLLER, type, reason, message) };
}
