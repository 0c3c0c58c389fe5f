// The node lifecycle controller's decisions for every node at once. See types.ts.

import { NODE_LEASE_NAMESPACE, TAINT_NOT_READY, TAINT_UNREACHABLE, toleratedForMs, type Condition, type Lease, type Node, type Pod, type Taint } from '../../../proto/resources';
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

    const taints = wantedTaints(node, !fresh, now);
    if (taints) actions.push({ type: 'set-node-taints', node: refOf(node), taints });
    // NoExecute taints someone set (the unreachable ones are the eviction below).
    for (const taint of (node.spec?.taints ?? []).filter((x) => x.effect === 'NoExecute' && !LIFECYCLE_TAINTS.has(x.key))) {
      for (const pod of podsByNode.get(name) ?? []) {
        if (isBeingDeleted(pod)) continue;
        const at = (timeOf(taint.timeAdded) ?? t) + toleratedForMs(taint, pod.spec.tolerations);
        if (at === Infinity) continue;
        if (at > t) {
          soonest(at - t + 1);
          continue;
        }
        actions.push({ type: 'taint-evict-pod', pod: refOf(pod), nodeName: name });
        events.push(event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${keyOf(pod)}`));
      }
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
    // A pod that tolerates the unreachable taint stays for its tolerationSeconds (for ever without);
    // the others go after the eviction timeout (berth's DefaultTolerationSeconds).
    for (const pod of podsByNode.get(name) ?? []) {
      if (isBeingDeleted(pod) || isDaemonPod(pod)) continue;
      const tolerated = toleratedForMs(UNREACHABLE_NO_EXECUTE, pod.spec.tolerations);
      const at = since + (tolerated === 0 ? options.evictionTimeoutMs : tolerated);
      if (at === Infinity) continue;
      if (at >= t) {
        soonest(at - t + 1);
        continue;
      }
      actions.push({ type: 'evict-pod', pod: refOf(pod), nodeName: name });
      events.push(event(pod, 'Normal', 'NodeControllerEviction', `Marking for deletion Pod ${keyOf(pod)} from Node ${name}`));
    }
    if (since + options.evictionTimeoutMs >= t) {
      soonest(since + options.evictionTimeoutMs - t + 1);
      continue;
    }

    // Lost: bump its epoch once.
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

const UNREACHABLE_NO_EXECUTE: Taint = { key: TAINT_UNREACHABLE, effect: 'NoExecute' };
/** The taints this controller owns. */
const LIFECYCLE_TAINTS = new Set([TAINT_UNREACHABLE, TAINT_NOT_READY]);

/** The node's taints with the unreachable ones added (not heard from) or taken away; undefined when they are as they should be. */
function wantedTaints(node: Node, unreachable: boolean, now: Date): Taint[] | undefined {
  const current = node.spec?.taints ?? [];
  const others = current.filter((x) => !LIFECYCLE_TAINTS.has(x.key));
  const had = current.filter((x) => x.key === TAINT_UNREACHABLE);
  const want: Taint[] = unreachable
    ? (['NoSchedule', 'NoExecute'] as const).map((effect) => had.find((x) => x.effect === effect) ?? { key: TAINT_UNREACHABLE, effect, timeAdded: now.toISOString() })
    : [];
  const next = [...others, ...want];
  const same = next.length === current.length && next.every((x) => current.includes(x));
  return same ? undefined : next;
}

/** The new condition, keeping the transition time when the status does not change. */
function transition(current: Condition | undefined, next: Condition): Condition {
  if (current?.status === next.status && current.lastTransitionTime) return { ...next, lastTransitionTime: current.lastTransitionTime };
  return next;
}

function event(obj: Node | Pod, type: 'Normal' | 'Warning', reason: string, message: string): NodeAction {
  return { type: 'event', event: eventFor(obj, NODE_CONTROLLER, type, reason, message) };
}
