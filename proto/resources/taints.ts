// Taints and tolerations, as Kubernetes matches them (ToleratesTaint): a toleration with no effect
// matches every effect; with operator Exists and no key, every taint; Exists matches a key
// whatever its value; Equal (the default) needs the value too; Gt and Lt (Kubernetes 1.35's
// TaintTolerationComparisonOperators) compare integers: the taint's value greater, or less, than
// the toleration's. Pure.

import type { Taint, TaintEffect, Toleration } from './types';

/** The taints on nodes that are not ready or not heard from, as Kubernetes' node lifecycle sets them. */
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
/** A cordoned node's taint (its spec.unschedulable): tolerating it lets a pod onto a cordoned node. */
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

export function tolerates(toleration: Toleration, taint: Pick<Taint, 'key' | 'value' | 'effect'>): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if ((toleration.key ?? '') === '') return toleration.operator === 'Exists';
  if (toleration.key !== taint.key) return false;
  if (toleration.operator === 'Exists') return true;
  if (toleration.operator === 'Gt' || toleration.operator === 'Lt') {
    const mine = int64Value(toleration.value);
    const theirs = int64Value(taint.value);
    if (mine === undefined || theirs === undefined) return false;
    return toleration.operator === 'Gt' ? theirs > mine : theirs < mine;
  }
  return (toleration.value ?? '') === (taint.value ?? '');
}

/** A taint or toleration value as a whole number, as Kubernetes takes one: a canonical int64 ("7", "-3"; not "007", "-0"). */
export function int64Value(value: string | undefined): bigint | undefined {
  if (value === undefined || !/^(0|-?[1-9]\d{0,18})$/.test(value)) return undefined;
  const n = BigInt(value);
  return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
}

export function isTolerated(taint: Pick<Taint, 'key' | 'value' | 'effect'>, tolerations: readonly Toleration[] | undefined): boolean {
  return (tolerations ?? []).some((t) => tolerates(t, taint));
}

/** The first taint of these effects that the tolerations do not tolerate. */
export function untoleratedTaint(taints: readonly Taint[] | undefined, tolerations: readonly Toleration[] | undefined, effects: readonly TaintEffect[]): Taint | undefined {
  return (taints ?? []).find((taint) => effects.includes(taint.effect) && !isTolerated(taint, tolerations));
}

/**
 * How long a pod may stay on a node with this NoExecute taint: 0 when nothing tolerates it, the
 * shortest tolerationSeconds of the tolerations that do, Infinity when one tolerates it for ever.
 */
export function toleratedForMs(taint: Pick<Taint, 'key' | 'value' | 'effect'>, tolerations: readonly Toleration[] | undefined): number {
  const matching = (tolerations ?? []).filter((t) => tolerates(t, taint));
  if (matching.length === 0) return 0;
  return Math.min(...matching.map((t) => (t.tolerationSeconds === undefined ? Infinity : Math.max(0, t.tolerationSeconds) * 1000)));
}

/** `key=value:Effect` (or `key:Effect`), as kubectl prints and takes a taint. */
export function formatTaint(taint: Taint): string {
  return `${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`;
}
