// What a pod asks about where it goes beyond room, as Kubernetes' scheduler plugins:
//
//   TaintToleration   a node's NoSchedule and NoExecute taints must be tolerated (a cordoned node
//                     counts as tainted node.kubernetes.io/unschedulable:NoSchedule)
//   NodeAffinity      nodeSelector and required node affinity
//   PodTopologySpread DoNotSchedule constraints: the node's domain may not exceed the least
//                     populated one by more than maxSkew
//   InterPodAffinity  required pod affinity (a matching pod in the node's domain; the first pod of
//                     a group that matches itself goes anywhere) and anti-affinity (none), and the
//                     anti-affinity of the pods already there
//
// and the preference among the nodes that pass: preferred node affinity and pod (anti-)affinity
// weights, PreferNoSchedule taints, ScheduleAnyway spreading. Pure; the states include pods placed
// earlier in the same plan.

import {
  isTolerated, matchesLabelSelector, nodeMatchesTerms, TAINT_UNSCHEDULABLE, untoleratedTaint,
  type LabelSelector, type Node, type Pod, type PodAffinityTerm, type Taint, type TopologySpreadConstraint,
} from '../../../proto/resources';
import { isBeingDeleted, isTerminated } from '../pods';
import type { NodeState } from './node-state';
import { FitReason } from './types';

/** A cordoned node's taint, which a pod may tolerate. */
const UNSCHEDULABLE_TAINT: Taint = { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' };

/** Why the node's taints (or its being cordoned) keep the pod off; undefined when they do not. */
export function taintProblem(pod: Pod, node: Node): string | undefined {
  if (node.spec?.unschedulable && !isTolerated(UNSCHEDULABLE_TAINT, pod.spec.tolerations)) return FitReason.Unschedulable;
  const taint = untoleratedTaint(node.spec?.taints, pod.spec.tolerations, ['NoSchedule', 'NoExecute']);
  return taint ? `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}` : undefined;
}

/** nodeSelector and required node affinity both hold, and the node runs the pod's spec.os. */
export function matchesNodeSelection(pod: Pod, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  if (!Object.entries(pod.spec.nodeSelector ?? {}).every(([k, v]) => labels[k] === v)) return false;
  // A pod for another operating system is one no node of this kind can run (the kubelet refuses it).
  if (pod.spec.os && labels['kubernetes.io/os'] !== undefined && labels['kubernetes.io/os'] !== pod.spec.os.name) return false;
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return !required || nodeMatchesTerms(node, required.nodeSelectorTerms);
}

const domainOf = (state: NodeState, key: string): string | undefined => state.node.metadata.labels?.[key];
const counts = (p: Pod) => !isBeingDeleted(p) && !isTerminated(p);

/** Whether `other` is a pod a term of `owner`'s names: its namespaces, its selector (with matchLabelKeys). */
function termMatches(term: PodAffinityTerm, owner: Pod, other: Pod): boolean {
  const namespaces = term.namespaces?.length ? term.namespaces : term.namespaceSelector && isEmptySelector(term.namespaceSelector) ? undefined : [owner.metadata.namespace ?? 'default'];
  if (namespaces && !namespaces.includes(other.metadata.namespace ?? 'default')) return false;
  if (!term.labelSelector) return false;
  const labels = other.metadata.labels ?? {};
  if (!matchesLabelSelector(labels, term.labelSelector)) return false;
  const own = owner.metadata.labels ?? {};
  if ((term.matchLabelKeys ?? []).some((k) => own[k] !== undefined && labels[k] !== own[k])) return false;
  if ((term.mismatchLabelKeys ?? []).some((k) => own[k] !== undefined && labels[k] === own[k])) return false;
  return true;
}

const isEmptySelector = (s: LabelSelector) => Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0;

/** Pods in the same domain of `key` as the candidate node (none when the node has no such label). */
function podsInDomain(states: readonly NodeState[], candidate: NodeState, key: string): Pod[] {
  const domain = domainOf(candidate, key);
  if (domain === undefined) return [];
  return states.filter((s) => domainOf(s, key) === domain).flatMap((s) => s.members.filter(counts));
}

/** Required pod affinity and anti-affinity, the pod's own and the existing pods'. */
export function podAffinityProblem(pod: Pod, candidate: NodeState, states: readonly NodeState[], withAntiAffinity: readonly Pod[]): string | undefined {
  const affinity = pod.spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  if (affinity.length > 0) {
    const all = states.flatMap((s) => s.members.filter(counts));
    const anyMatch = affinity.some((term) => all.some((p) => termMatches(term, pod, p)));
    // The first of a group that names itself may go anywhere (else none could ever start).
    const selfMatch = affinity.every((term) => termMatches(term, pod, pod));
    if (anyMatch || !selfMatch) {
      for (const term of affinity) {
        if (!podsInDomain(states, candidate, term.topologyKey).some((p) => termMatches(term, pod, p))) return FitReason.PodAffinity;
      }
    }
  }
  for (const term of pod.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
    if (podsInDomain(states, candidate, term.topologyKey).some((p) => termMatches(term, pod, p))) return FitReason.PodAntiAffinity;
  }
  for (const existing of withAntiAffinity) {
    const host = states.find((s) => s.members.includes(existing));
    if (!host) continue;
    for (const term of existing.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
      const domain = domainOf(host, term.topologyKey);
      if (domain !== undefined && domainOf(candidate, term.topologyKey) === domain && termMatches(term, existing, pod)) return FitReason.ExistingAntiAffinity;
    }
  }
  return undefined;
}

/** Matching pods per domain of a constraint's key, over the nodes the pod could go to (nodeAffinityPolicy Honor). */
function spreadCounts(pod: Pod, c: TopologySpreadConstraint, states: readonly NodeState[]): Map<string, number> {
  const out = new Map<string, number>();
  const namespace = pod.metadata.namespace ?? 'default';
  for (const state of states) {
    const domain = domainOf(state, c.topologyKey);
    if (domain === undefined) continue;
    if ((c.nodeAffinityPolicy ?? 'Honor') === 'Honor' && !matchesNodeSelection(pod, state.node)) continue;
    if (c.nodeTaintsPolicy === 'Honor' && taintProblem(pod, state.node)) continue;
    const matching = state.members.filter((p) => counts(p) && (p.metadata.namespace ?? 'default') === namespace && selects(c, pod, p)).length;
    out.set(domain, (out.get(domain) ?? 0) + matching);
  }
  return out;
}

function selects(c: TopologySpreadConstraint, owner: Pod, other: Pod): boolean {
  if (!c.labelSelector) return false;
  const labels = other.metadata.labels ?? {};
  if (!matchesLabelSelector(labels, c.labelSelector)) return false;
  const own = owner.metadata.labels ?? {};
  return (c.matchLabelKeys ?? []).every((k) => own[k] === undefined || labels[k] === own[k]);
}

/** DoNotSchedule spread constraints: would the node's domain exceed the least populated by more than maxSkew? */
export function spreadProblem(pod: Pod, candidate: NodeState, states: readonly NodeState[]): string | undefined {
  for (const c of pod.spec.topologySpreadConstraints ?? []) {
    if (c.whenUnsatisfiable !== 'DoNotSchedule') continue;
    const domain = domainOf(candidate, c.topologyKey);
    if (domain === undefined) return FitReason.SpreadMissingLabel;
    const perDomain = spreadCounts(pod, c, states);
    const values = [...perDomain.values()];
    // Fewer domains than minDomains: the missing ones count as empty.
    const least = values.length === 0 || (c.minDomains !== undefined && perDomain.size < c.minDomains) ? 0 : Math.min(...values);
    const self = selects(c, pod, pod) ? 1 : 0;
    if ((perDomain.get(domain) ?? 0) + self - least > c.maxSkew) return FitReason.Spread;
  }
  return undefined;
}

/**
 * How much the pod would rather go to this node (higher is better): the weights of the preferred
 * node-affinity terms it matches and of the preferred pod-affinity terms satisfied there, less
 * those of the preferred anti-affinity terms, 100 per untolerated PreferNoSchedule taint, and one
 * per matching pod already in the node's domain for each ScheduleAnyway spread constraint.
 */
export function preference(pod: Pod, candidate: NodeState, states: readonly NodeState[]): number {
  let score = 0;
  for (const p of pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
    if (nodeMatchesTerms(candidate.node, [p.preference])) score += p.weight;
  }
  for (const p of pod.spec.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
    if (podsInDomain(states, candidate, p.podAffinityTerm.topologyKey).some((o) => termMatches(p.podAffinityTerm, pod, o))) score += p.weight;
  }
  for (const p of pod.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
    if (podsInDomain(states, candidate, p.podAffinityTerm.topologyKey).some((o) => termMatches(p.podAffinityTerm, pod, o))) score -= p.weight;
  }
  score -= 100 * (candidate.node.spec?.taints ?? []).filter((t) => t.effect === 'PreferNoSchedule' && !isTolerated(t, pod.spec.tolerations)).length;
  for (const c of pod.spec.topologySpreadConstraints ?? []) {
    if (c.whenUnsatisfiable !== 'ScheduleAnyway') continue;
    const domain = domainOf(candidate, c.topologyKey);
    if (domain !== undefined) score -= spreadCounts(pod, c, states).get(domain) ?? 0;
  }
  return score;
}

/** Whether a pod has anything this file looks at beyond taints and node selection (the common case has not). */
export const hasPlacementRules = (pod: Pod): boolean =>
  Boolean(pod.spec.affinity?.podAffinity || pod.spec.affinity?.podAntiAffinity || pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution || pod.spec.topologySpreadConstraints?.length);
