// Conditions as Kubernetes keeps them: one per type; setting one with the same status and reason
// changes nothing; a new status moves lastTransitionTime, a new reason with the same status keeps
// it. Lists are never changed in place: each function returns a new list.

import type { Condition } from '../../proto/resources';

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** A condition whose times are `now`. */
export function newCondition(type: string, status: Condition['status'], reason: string, message: string, now: Date): Condition {
  const at = now.toISOString();
  return { type, status, reason, message, lastUpdateTime: at, lastTransitionTime: at };
}

/**
 * Kubernetes' SetDeploymentCondition: a no-op when the status and reason are unchanged; keeps
 * lastTransitionTime when only the reason changes. The condition keeps its place in the list.
 */
export function setCondition(conditions: readonly Condition[] | undefined, condition: Condition): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === condition.type);
  if (i === -1) return [...list, condition];
  const current = list[i]!;
  if (current.status === condition.status && current.reason === condition.reason) return list;
  const next = { ...condition };
  if (current.status === condition.status && current.lastTransitionTime !== undefined) next.lastTransitionTime = current.lastTransitionTime;
  list[i] = next;
  return list;
}

/** Replace a condition outright (or add it), keeping its place in the list. */
export function replaceCondition(conditions: readonly Condition[] | undefined, condition: Condition): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === condition.type);
  if (i === -1) list.push(condition);
  else list[i] = condition;
  return list;
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}
