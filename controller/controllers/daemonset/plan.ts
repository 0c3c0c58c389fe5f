// The DaemonSet controller's decision for one DaemonSet (defaults applied), as Kubernetes'
// syncDaemonSet and rollingUpdate. See types.ts.

import {
  nodeMatchesTerms, TAINT_NOT_READY, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE, untoleratedTaint,
  type DaemonSet, type DaemonSetStatus, type Node, type Pod, type Toleration,
} from '../../../proto/resources';
import { scaledValue, templateHash } from '../deployment';
import { controllerReferenceTo, eventFor, isControlledBy, refOf, sameJson } from '../meta';
import { isAvailable, isBeingDeleted, isReady, nextAvailableDelay } from '../pods';
import { DAEMONSET_CONTROLLER, REVISION_HASH_LABEL, type DaemonSetAction, type DaemonSetPlan } from './types';

/**
 * Whether a node should run the DaemonSet's pod: it is not going away, its labels match the
 * template's nodeSelector and required node affinity, and the pod tolerates its NoSchedule and
 * NoExecute taints (with the tolerations every daemon pod gets).
 */
export function nodeWants(ds: DaemonSet, node: Node): boolean {
  if (isBeingDeleted(node)) return false;
  const spec = ds.spec.template.spec;
  const labels = node.metadata.labels ?? {};
  if (!Object.entries(spec.nodeSelector ?? {}).every(([k, v]) => labels[k] === v)) return false;
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required && !nodeMatchesTerms(node, required.nodeSelectorTerms)) return false;
  return !untoleratedTaint(node.spec?.taints, daemonTolerations(spec.tolerations), ['NoSchedule', 'NoExecute']);
}

/** What Kubernetes adds to every daemon pod: it stays on a node that is not ready or unreachable, and goes to cordoned or pressured ones. */
const DAEMON_TOLERATIONS: Toleration[] = [
  { key: TAINT_NOT_READY, operator: 'Exists', effect: 'NoExecute' },
  { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: TAINT_UNSCHEDULABLE, operator: 'Exists', effect: 'NoSchedule' },
];

function daemonTolerations(own: readonly Toleration[] | undefined): Toleration[] {
  const out = [...(own ?? [])];
  for (const t of DAEMON_TOLERATIONS) if (!out.some((o) => o.key === t.key && o.effect === t.effect)) out.push(t);
  return out;
}

export function plan(ds: DaemonSet, nodes: readonly Node[], allPods: readonly Pod[], now: Date, randomSuffix: () => string): DaemonSetPlan {
  const pods = allPods.filter((p) => isControlledBy(p, ds) && !isBeingDeleted(p));
  const hash = templateHash(ds.spec.template);
  const minReadySeconds = ds.spec.minReadySeconds ?? 0;
  const actions: DaemonSetAction[] = [];
  const events: DaemonSetAction[] = [];
  const event = (type: 'Normal' | 'Warning', reason: string, message: string) =>
    events.push({ type: 'event', event: eventFor(ds, DAEMONSET_CONTROLLER, type, reason, message) });
  const remove = (pod: Pod, reason: Extract<DaemonSetAction, { type: 'delete-pod' }>['reason']) => {
    actions.push({ type: 'delete-pod', pod: refOf(pod), reason });
    event('Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
  };
  const create = (node: string) => {
    const pod = podFor(ds, node, hash, `${ds.metadata.name}-${randomSuffix()}`);
    actions.push({ type: 'create-pod', pod });
    event('Normal', 'SuccessfulCreate', createdMessage(pod.metadata.name!));
  };

  const byNode = new Map<string, Pod[]>();
  for (const pod of pods) {
    const node = pod.spec.nodeName ?? '';
    byNode.set(node, [...(byNode.get(node) ?? []), pod]);
  }
  const wanted = nodes.filter((n) => nodeWants(ds, n)).map((n) => n.metadata.name!).sort();
  const wantedSet = new Set(wanted);

  // Pods where none should be: on nodes that left or no longer match.
  let misscheduled = 0;
  for (const [node, onNode] of byNode) {
    if (wantedSet.has(node)) continue;
    misscheduled++;
    for (const pod of onNode) remove(pod, 'not-wanted');
  }

  const rolling = (ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
  const ru = ds.spec.updateStrategy?.rollingUpdate;
  const surge = rolling ? scaledValue(ru?.maxSurge ?? 0, wanted.length, true, 'spec.updateStrategy.rollingUpdate.maxSurge') : 0;
  let maxUnavailable = rolling ? scaledValue(ru?.maxUnavailable ?? 1, wanted.length, true, 'spec.updateStrategy.rollingUpdate.maxUnavailable') : 0;
  if (rolling && surge === 0 && maxUnavailable === 0) maxUnavailable = 1;

  // Per wanted node: one running pod, the newest of the current template kept.
  const current = new Map<string, Pod[]>();
  for (const node of wanted) {
    const onNode = byNode.get(node) ?? [];
    const failed = onNode.filter((p) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded');
    for (const pod of failed) remove(pod, 'failed');
    const live = onNode.filter((p) => !failed.includes(p));
    if (failed.length > 0) event('Warning', 'FailedDaemonPod', `Found failed daemon pod ${ds.metadata.namespace ?? 'default'}/${failed[0]!.metadata.name} on node ${node}, will try to kill it`);
    if (live.length === 0) {
      create(node);
      continue;
    }
    const updated = live.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash);
    const old = live.filter((p) => !updated.includes(p));
    // More than one of the current template: the oldest stays.
    const keep = oldestFirst(updated).slice(0, 1);
    for (const extra of oldestFirst(updated).slice(1)) remove(extra, 'duplicate');
    current.set(node, [...keep, ...old]);
  }

  // The rolling update: nodes whose pod is of an old template.
  if (rolling) {
    const available = (pods: Pod[]) => pods.some((p) => isAvailable(p, minReadySeconds, now));
    const unavailableNodes = wanted.filter((n) => !available(current.get(n) ?? []));
    let budget = maxUnavailable - unavailableNodes.length;
    let surgeBudget = surge;
    for (const node of wanted) {
      const onNode = current.get(node) ?? [];
      const fresh = onNode.find((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash);
      const stale = onNode.filter((p) => p !== fresh);
      if (stale.length === 0) continue;
      if (fresh) {
        // The new pod runs beside (surge): the old ones go once it is available.
        if (isAvailable(fresh, minReadySeconds, now)) for (const pod of stale) remove(pod, 'rolling-update');
        continue;
      }
      const nodeUnavailable = !available(stale);
      if (nodeUnavailable) {
        // Already down: replacing it costs nothing.
        for (const pod of stale) remove(pod, 'rolling-update');
      } else if (surgeBudget > 0) {
        surgeBudget--;
        create(node);
      } else if (budget > 0) {
        budget--;
        for (const pod of stale) remove(pod, 'rolling-update');
      }
    }
  }

  const all = [...current.values()].flat();
  const status: DaemonSetStatus = {
    desiredNumberScheduled: wanted.length,
    currentNumberScheduled: wanted.filter((n) => (byNode.get(n) ?? []).length > 0).length,
    numberMisscheduled: misscheduled,
    numberReady: wanted.filter((n) => (current.get(n) ?? []).some(isReady)).length,
    updatedNumberScheduled: wanted.filter((n) => (current.get(n) ?? []).some((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash)).length,
    numberAvailable: wanted.filter((n) => (current.get(n) ?? []).some((p) => isAvailable(p, minReadySeconds, now))).length,
  };
  status.numberUnavailable = wanted.length - status.numberAvailable!;
  if (ds.metadata.generation !== undefined) status.observedGeneration = ds.metadata.generation;
  if (!sameJson(ds.status ?? {}, status)) actions.push({ type: 'update-daemonset-status', daemonSet: refOf(ds), status });
  actions.push(...events);
  const requeue = nextAvailableDelay(all, minReadySeconds, now);
  return { actions, ...(requeue !== undefined ? { requeueAfterMs: requeue } : {}) };
}

export const createdMessage = (name: string) => `Created pod: ${name}`;

/**
 * A daemon pod for `node`: the template's labels plus its hash, bound to the node, tolerating the
 * node's not-ready, unreachable and unschedulable taints as Kubernetes adds them.
 */
export function podFor(ds: DaemonSet, node: string, hash: string, name: string): Pod & { metadata: { name: string } } {
  const template = structuredClone(ds.spec.template);
  const spec = template.spec;
  spec.nodeName = node;
  spec.tolerations = daemonTolerations(spec.tolerations);
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: ds.metadata.namespace,
      labels: { ...template.metadata?.labels, [REVISION_HASH_LABEL]: hash },
      ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
      ownerReferences: [controllerReferenceTo(ds)],
    },
    spec,
    status: { phase: 'Pending' },
  };
}

const oldestFirst = (pods: readonly Pod[]) => [...pods].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));

