// Which ReplicaSet is the Deployment's current revision, and making it: the new ReplicaSet has the
// template's hash in its name, labels and selector, and revision max+1. A ReplicaSet that becomes
// new again (a rollback to its template) is re-annotated with revision max+1, its old revision
// kept in revision-history.

import type { ReplicaSet } from '../../../proto/resources';
import { getCondition, newCondition, setCondition } from '../conditions';
import { controllerReferenceTo, sameJson } from '../meta';
import { isRollingUpdate, maxSurge } from './fenceposts';
import { sameTemplate, templateHash } from './hash';
import { byCreation, type Revision, type Rollout } from './rollout';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION, Reason } from './types';

/** Annotations of the Deployment that are not copied onto its ReplicaSets. */
const NOT_COPIED = [/^deployment\.kubernetes\.io\//, /^berth\.io\//, /^kubectl\.kubernetes\.io\/last-applied-configuration$/];

export function revisionNumber(rs: ReplicaSet): number {
  const n = Number(rs.metadata.annotations?.[REVISION_ANNOTATION]);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

export function hasProgressDeadline(w: Rollout): boolean {
  return w.deployment.spec.progressDeadlineSeconds !== undefined;
}

/**
 * Find the revision whose template is the Deployment's (the oldest such, should there be more),
 * bring its annotations up to date, or create it when `create` is set. Sets w.newRevision.
 */
export function syncNewRevision(w: Rollout, create: boolean): Revision | undefined {
  const d = w.deployment;
  const existing = w.revisions.filter((r) => sameTemplate(r.rs.spec.template, d.spec.template)).sort(byCreation)[0];
  const others = w.revisions.filter((r) => r !== existing);
  const nextRevision = Math.max(0, ...others.map((r) => revisionNumber(r.rs))) + 1;

  if (existing) {
    w.newRevision = existing;
    syncExisting(w, existing, nextRevision);
    w.deploymentRevision = existing.rs.metadata.annotations?.[REVISION_ANNOTATION];
    if (hasProgressDeadline(w) && !getCondition(w.status.conditions, 'Progressing')) {
      // Progress is being estimated for the first time: start counting from now.
      const c = newCondition('Progressing', 'True', Reason.FoundNewReplicaSet, `Found new replica set "${existing.rs.metadata.name}"`, w.now);
      w.status = { ...w.status, conditions: setCondition(w.status.conditions, c) };
    }
    return existing;
  }
  if (!create) {
    w.newRevision = undefined;
    return undefined;
  }

  const rs = newReplicaSet(w, nextRevision);
  const rev = w.addCreated(rs);
  const replicas = newReplicaSetReplicas(w, rev);
  rev.rs.spec.replicas = replicas;
  w.setReplicasAnnotations(rev.rs);
  if (replicas > 0) w.event('Normal', 'ScalingReplicaSet', `Scaled up replica set ${rs.metadata.name} to ${replicas}`);
  w.deploymentRevision = String(nextRevision);
  if (hasProgressDeadline(w)) {
    const c = newCondition('Progressing', 'True', Reason.NewReplicaSetCreated, `Created new replica set "${rs.metadata.name}"`, w.now);
    w.status = { ...w.status, conditions: setCondition(w.status.conditions, c) };
  }
  return rev;
}

function syncExisting(w: Rollout, rev: Revision, nextRevision: number): void {
  const d = w.deployment;
  const annotations = { ...rev.rs.metadata.annotations, ...copiedAnnotations(w) };
  const current = revisionNumber(rev.rs);
  if (current < nextRevision) {
    annotations[REVISION_ANNOTATION] = String(nextRevision);
    if (current > 0) {
      // A rollback: remember the revisions this template had before.
      const history = annotations[REVISION_HISTORY_ANNOTATION];
      annotations[REVISION_HISTORY_ANNOTATION] = history ? `${history},${current}` : String(current);
    }
  }
  const minReadySeconds = d.spec.minReadySeconds ?? 0;
  const changed = !sameJson(annotations, rev.rs.metadata.annotations ?? {})
    || (rev.rs.spec.minReadySeconds ?? 0) !== minReadySeconds;
  if (changed) {
    w.change(rev, (rs) => {
      rs.metadata.annotations = annotations;
      rs.spec.minReadySeconds = minReadySeconds;
    });
  }
}

function copiedAnnotations(w: Rollout): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(w.deployment.metadata.annotations ?? {})) {
    if (!NOT_COPIED.some((re) => re.test(k))) out[k] = v;
  }
  return out;
}

/** The new revision's ReplicaSet, at 0 replicas (the caller sizes it). */
function newReplicaSet(w: Rollout, revision: number): ReplicaSet {
  const d = w.deployment;
  const taken = new Set(w.revisions.map((r) => r.rs.metadata.name));
  // A name taken by a ReplicaSet with another template is a hash collision: salt until free.
  let salt = 0;
  let hash = templateHash(d.spec.template);
  while (taken.has(`${d.metadata.name}-${hash}`)) hash = templateHash(d.spec.template, ++salt);

  const template = structuredClone(d.spec.template);
  const labels = { ...template.metadata?.labels, [POD_TEMPLATE_HASH_LABEL]: hash };
  template.metadata = { ...template.metadata, labels };
  const selector = structuredClone(d.spec.selector);
  selector.matchLabels = { ...selector.matchLabels, [POD_TEMPLATE_HASH_LABEL]: hash };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels: { ...labels },
      annotations: { ...copiedAnnotations(w), [REVISION_ANNOTATION]: String(revision) },
      ownerReferences: [controllerReferenceTo(d)],
    },
    spec: {
      replicas: 0,
      minReadySeconds: d.spec.minReadySeconds ?? 0,
      selector,
      template,
    },
  };
}

/**
 * How far the new revision may grow now (Kubernetes' NewRSNewReplicas): Recreate all at once;
 * RollingUpdate up to replicas + maxSurge pods in all, and never past replicas.
 */
export function newReplicaSetReplicas(w: Rollout, rev: Revision): number {
  const current = w.spec(rev);
  if (!isRollingUpdate(w.deployment)) return w.replicas;
  const total = w.revisions.reduce((sum, r) => sum + w.spec(r), 0);
  const maxTotal = w.replicas + maxSurge(w.deployment);
  if (total >= maxTotal) return current;
  return current + Math.min(maxTotal - total, w.replicas - current);
}
