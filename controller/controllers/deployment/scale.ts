// Scaling without a rollout, as Kubernetes' sync/scale: when the Deployment is paused, or when
// its replicas changed (a revision's desired-replicas annotation differs). One active revision
// (or none: the newest) takes all replicas; a saturated new revision means the old ones go to 0;
// otherwise, mid rolling update, the change is shared out in proportion to each revision's size
// so that the rollout's shape is kept.

import type { DeploymentStatus } from '../../../proto/resources';
import { cleanupHistory } from './cleanup';
import { isRollingUpdate, maxSurge } from './fenceposts';
import { syncNewRevision } from './revision';
import { byCreation, type Revision, type Rollout } from './rollout';
import { calculateStatus } from './status';
import { DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION } from './types';

/** A scaling event: some active revision was last sized for another replica count. */
export function isScalingEvent(w: Rollout): boolean {
  syncNewRevision(w, false);
  return w.revisions.some((r) => {
    if (w.spec(r) === 0) return false;
    const desired = Number(r.rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION]);
    return Number.isInteger(desired) && desired !== w.replicas;
  });
}

export function sync(w: Rollout): DeploymentStatus {
  syncNewRevision(w, false);
  scale(w);
  if (w.deployment.spec.paused) cleanupHistory(w);
  return calculateStatus(w);
}

function scale(w: Rollout): void {
  const active = w.revisions.filter((r) => w.spec(r) > 0);
  if (active.length <= 1) {
    const target = active[0] ?? w.newRevision ?? newest(w.revisions);
    if (target) w.scale(target, w.replicas);
    return;
  }
  if (isSaturated(w, w.newRevision)) {
    for (const rev of w.oldRevisions) if (w.spec(rev) > 0) w.scale(rev, 0);
    return;
  }
  if (isRollingUpdate(w.deployment)) scaleProportionally(w, active);
}

function newest(revs: Revision[]): Revision | undefined {
  return [...revs].sort(byCreation).at(-1);
}

/** The new revision has all replicas, was sized for them, and they are all available. */
function isSaturated(w: Rollout, rev: Revision | undefined): boolean {
  if (!rev) return false;
  const desired = Number(rev.rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION]);
  return w.spec(rev) === w.replicas && desired === w.replicas && rev.availablePods >= w.replicas;
}

function scaleProportionally(w: Rollout, active: Revision[]): void {
  const allowed = w.replicas > 0 ? w.replicas + maxSurge(w.deployment) : 0;
  const toAdd = allowed - active.reduce((n, r) => n + w.spec(r), 0);
  if (toAdd === 0) {
    for (const rev of active) w.scale(rev, w.spec(rev)); // refresh the replicas annotations
    return;
  }
  // Biggest first; among equals, newer ones grow first and older ones shrink first.
  const sorted = [...active].sort((a, b) => w.spec(b) - w.spec(a)
    || (toAdd > 0 ? b.createdAt - a.createdAt : a.createdAt - b.createdAt));
  const sizes = new Map<Revision, number>();
  let added = 0;
  for (const rev of sorted) {
    const share = proportion(w, rev, toAdd, added);
    sizes.set(rev, w.spec(rev) + share);
    added += share;
  }
  // Whatever rounding left over goes to (or comes from) the biggest.
  const first = sorted[0]!;
  sizes.set(first, Math.max(0, sizes.get(first)! + toAdd - added));
  for (const rev of sorted) w.scale(rev, sizes.get(rev)!);
}

/** A revision's share of `toAdd`, never past what is left to add (Kubernetes' GetProportion). */
function proportion(w: Rollout, rev: Revision, toAdd: number, added: number): number {
  const spec = w.spec(rev);
  if (spec === 0 || toAdd === added) return 0;
  const fraction = fractionOf(w, rev);
  const left = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, left) : Math.max(fraction, left);
}

function fractionOf(w: Rollout, rev: Revision): number {
  const spec = w.spec(rev);
  if (w.replicas === 0) return -spec;
  const maxNow = w.replicas + maxSurge(w.deployment);
  let maxBefore = Number(rev.rs.metadata.annotations?.[MAX_REPLICAS_ANNOTATION]);
  if (!Number.isInteger(maxBefore) || maxBefore === 0) {
    maxBefore = w.deployment.status?.replicas ?? 0;
    if (maxBefore === 0) return 0;
  }
  return roundHalfAwayFromZero((spec * maxNow) / maxBefore) - spec;
}

function roundHalfAwayFromZero(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}
