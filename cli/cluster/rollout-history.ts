// A Deployment's revisions, read from its ReplicaSets' revision annotations, a DaemonSet's or
// StatefulSet's from its ControllerRevisions, and the choice `rollout undo` makes among them
// (pure; kubectl's history viewers and rollbackers).

import { isDeepStrictEqual } from 'node:util';
import type { ControllerRevision, DaemonSet, Deployment, PodTemplateSpec, ReplicaSet, StatefulSet } from '../../proto/resources';
import { CHANGE_CAUSE_ANNOTATION, replicaSetsOf, revisionOf, templateWithoutHash } from './rollout-state';

export interface Revision {
  revision: number;
  changeCause: string | undefined;
  replicaSet: ReplicaSet;
}

/** Revisions oldest first; ReplicaSets without a revision annotation are not revisions. */
export function revisions(d: Deployment, replicaSets: ReplicaSet[]): Revision[] {
  return replicaSetsOf(d, replicaSets)
    .filter((rs) => revisionOf(rs) > 0)
    .map((rs) => ({ revision: revisionOf(rs), changeCause: rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION], replicaSet: rs }));
}

export type UndoPlan =
  | { type: 'rollback'; revision: number; template: PodTemplateSpec }
  | { type: 'skip'; revision: number }
  | { type: 'error'; message: string };

/**
 * What `rollout undo [--to-revision N]` does: N, or the revision before the newest, its
 * template without the pod-template-hash label; skipped when that is the template already.
 */
export function planUndo(d: Deployment, replicaSets: ReplicaSet[], toRevision: number): UndoPlan {
  const name = d.metadata.name;
  if (d.spec.paused) return { type: 'error', message: `you cannot rollback a paused deployment; resume it first with 'berth rollout resume deployment/${name}' and try again` };
  const all = revisions(d, replicaSets).map((r) => ({ revision: r.revision, template: templateWithoutHash(r.replicaSet.spec.template) }));
  return chooseUndo('deployment', name ?? '', all, templateWithoutHash(d.spec.template), toRevision);
}

/** A DaemonSet's or StatefulSet's revisions, oldest first: the ControllerRevisions its controller keeps. */
export function setRevisions(owner: DaemonSet | StatefulSet, controllerRevisions: readonly ControllerRevision[]): SetRevision[] {
  return controllerRevisions
    .filter((r) => r.metadata.ownerReferences?.some((o) => o.controller && o.uid === owner.metadata.uid))
    .sort((a, b) => a.revision - b.revision)
    .map((r) => ({ revision: r.revision, changeCause: r.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION], template: r.data.spec.template }));
}

/** A revision as history prints it: a set's ControllerRevision, or a Deployment's ReplicaSet. */
export interface SetRevision {
  revision: number;
  changeCause: string | undefined;
  template: PodTemplateSpec;
}

/** `rollout undo daemonset|statefulset/NAME [--to-revision N]`, as for a Deployment. */
export function planSetUndo(owner: DaemonSet | StatefulSet, controllerRevisions: readonly ControllerRevision[], toRevision: number): UndoPlan {
  return chooseUndo(owner.kind.toLowerCase(), owner.metadata.name ?? '', setRevisions(owner, controllerRevisions), owner.spec.template, toRevision);
}

function chooseUndo(kind: string, name: string, all: ReadonlyArray<{ revision: number; template: PodTemplateSpec }>, current: PodTemplateSpec, toRevision: number): UndoPlan {
  if (all.length === 0) return { type: 'error', message: `no rollout history found for ${kind} "${name}"` };
  let chosen: { revision: number; template: PodTemplateSpec } | undefined;
  if (toRevision > 0) {
    chosen = all.find((r) => r.revision === toRevision);
    if (!chosen) return { type: 'error', message: `unable to find specified revision ${toRevision} in history` };
  } else {
    if (all.length < 2) return { type: 'error', message: `no previous revision found for ${kind} "${name}": it has only revision ${all[0]!.revision}` };
    chosen = all[all.length - 2];
  }
  if (isDeepStrictEqual(chosen!.template, current)) return { type: 'skip', revision: chosen!.revision };
  return { type: 'rollback', revision: chosen!.revision, template: structuredClone(chosen!.template) };
}
