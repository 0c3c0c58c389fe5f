// maxSurge and maxUnavailable as numbers of pods, by Kubernetes' rules: percentages of replicas,
// surge rounded up, unavailable rounded down; if both come out 0, unavailable is 1 (surge might
// be impossible, e.g. under a quota, and a rollout must be able to move).

import type { Deployment } from '../../../proto/resources';
import { BerthError } from '../../../proto/errors';

/** An absolute number, or "N%" of total rounded up or down. */
export function scaledValue(value: number | string | undefined, total: number, roundUp: boolean, field: string): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw new BerthError('invalid-argument', `${field}: ${value} must be a non-negative integer or a percentage`);
    return value;
  }
  const m = /^(\d+)%$/.exec(value.trim()) ?? /^(\d+)$/.exec(value.trim());
  if (!m) throw new BerthError('invalid-argument', `${field}: "${value}" must be a non-negative integer or a percentage such as "25%"`);
  const n = Number(m[1]);
  if (!value.trim().endsWith('%')) return n;
  // Integer arithmetic: no float rounding surprises at the boundaries.
  return roundUp ? Math.ceil((n * total) / 100) : Math.floor((n * total) / 100);
}

export function isRollingUpdate(d: Deployment): boolean {
  return (d.spec.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/** [surge, unavailable] for `replicas`: Kubernetes' ResolveFenceposts. */
export function resolveFenceposts(d: Deployment, replicas: number): [number, number] {
  const ru = d.spec.strategy?.rollingUpdate;
  const surge = scaledValue(ru?.maxSurge ?? '25%', replicas, true, 'spec.strategy.rollingUpdate.maxSurge');
  let unavailable = scaledValue(ru?.maxUnavailable ?? '25%', replicas, false, 'spec.strategy.rollingUpdate.maxUnavailable');
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return [surge, unavailable];
}

/** Pods allowed above replicas during a rolling update (0 for Recreate). */
export function maxSurge(d: Deployment): number {
  if (!isRollingUpdate(d)) return 0;
  return resolveFenceposts(d, d.spec.replicas ?? 1)[0];
}

/** Pods allowed below replicas during a rolling update (0 for Recreate and for 0 replicas). */
export function maxUnavailable(d: Deployment): number {
  const replicas = d.spec.replicas ?? 1;
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  return Math.min(replicas, resolveFenceposts(d, replicas)[1]);
}
