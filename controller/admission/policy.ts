// A namespace's level, a pod checked against it, and the refusal worded as Kubernetes' API server
// words it: `pods "web" is forbidden: violates PodSecurity "baseline:latest": hostPort (container
// "web" uses hostPort 22)`.

import { BerthError } from '../../proto/errors';
import { CHECKS } from './checks';
import {
  DEFAULT_LEVEL, ENFORCE_LABEL, POD_SECURITY_LEVELS,
  type CheckResult, type PodSecurityLevel, type PodSecurityView,
} from './types';

/** The level a namespace's labels enforce: the default when unlabelled, restricted when the label is not a level. */
export function enforcedLevel(labels: Readonly<Record<string, string>> | undefined): PodSecurityLevel {
  const value = labels?.[ENFORCE_LABEL];
  if (value === undefined) return DEFAULT_LEVEL;
  return (POD_SECURITY_LEVELS as readonly string[]).includes(value) ? (value as PodSecurityLevel) : 'restricted';
}

/** The checks a level runs, in message order (a restricted check replaces the baseline one it overrides). */
function checksOf(level: PodSecurityLevel) {
  if (level === 'privileged') return [];
  if (level === 'baseline') return CHECKS.filter((c) => c.level === 'baseline');
  const overridden = new Set(CHECKS.flatMap((c) => (c.level === 'restricted' ? c.overrides ?? [] : [])));
  return CHECKS.filter((c) => !overridden.has(c.id));
}

/** What the pod does that the level forbids: one entry per failed check, in message order. */
export function violations(level: PodSecurityLevel, pod: PodSecurityView): Array<Extract<CheckResult, { allowed: false }>> {
  const found = [];
  for (const { check } of checksOf(level)) {
    const result = check(pod.metadata, pod.spec);
    if (!result.allowed) found.push(result);
  }
  return found;
}

/**
 * `violates PodSecurity "baseline:latest": hostPort (...), privileged (...)`, or undefined when the
 * pod meets the level.
 */
export function podSecurityViolation(level: PodSecurityLevel, pod: PodSecurityView): string | undefined {
  const found = violations(level, pod);
  if (found.length === 0) return undefined;
  const listed = found.map((v) => (v.detail ? `${v.reason} (${v.detail})` : v.reason)).join(', ');
  return `violates PodSecurity "${level}:latest": ${listed}`;
}

/**
 * Admit a pod being created into a namespace with these labels; throws permission-denied (HTTP
 * 403, Kubernetes' Forbidden) naming the pod when its namespace's level forbids it.
 */
export function admitPod(pod: PodSecurityView, namespaceLabels: Readonly<Record<string, string>> | undefined): void {
  const violation = podSecurityViolation(enforcedLevel(namespaceLabels), pod);
  if (violation) throw new BerthError('permission-denied', `pods "${pod.metadata.name ?? ''}" is forbidden: ${violation}`);
}
