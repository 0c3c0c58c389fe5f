// A Deployment's revisions, read from its ReplicaSets' revision annotations, and the choice
// `rollout undo` makes among them (pure; kubectl's DeploymentHistoryViewer and rollbacker).

import { isDeepStrictEqual } from 'node:util';
import type { Deployment, PodTemplateSpec, ReplicaSet } from '../../proto/resources';
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
  const all = revisions(d, replicaSets);
  if (all.length === 0) return { type: 'error', message: `no rollout history found for deployment "${name}"` };
  let chosen: Revision | undefined;
  if (toRevision > 0) {
    chosen = all.find((r) => r.revision === toRevision);
    if (!chosen) return { type: 'error', message: `unable to find specified revision ${toRevision} in history` };
  } else {
    if (all.length < 2) return { type: 'error', message: `no previous revision found for deployment "${name}": it has only revision ${all[0]!.revision}` };
    chosen = all[all.length - 2];
  }
  const template = templateWithoutHash(chosen!.replicaSet.spec.template);
  if (isDeepStrictEqual(template, templateWithoutHash(d.spec.template))) return { type: 'skip', revision: chosen!.revision };
  return { type: 'rollback', revision: chosen!.revision, template };
}
