// The revision history of a DaemonSet or StatefulSet (Kubernetes' controller history), pure: the
// set's current template has a ControllerRevision named <set>-<hash> with the highest number; a
// template rolled out again (an undo) keeps its revision object and takes the next number; the
// oldest revisions beyond revisionHistoryLimit (default 10) go, except the current one and any
// that live pods still run.

import type { ControllerRevision, DaemonSet, PodTemplateSpec, StatefulSet } from '../../proto/resources';
import { controllerReferenceTo, isControlledBy } from './meta';

export const DEFAULT_REVISION_HISTORY_LIMIT = 10;
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';

export type HistoryAction =
  | { type: 'create-revision'; revision: ControllerRevision }
  | { type: 'renumber-revision'; name: string; revision: number }
  | { type: 'delete-revision'; name: string };

/** The revisions of `owner`, oldest first. */
export function revisionsOf(owner: DaemonSet | StatefulSet, all: readonly ControllerRevision[]): ControllerRevision[] {
  return all.filter((r) => r.metadata.namespace === owner.metadata.namespace && isControlledBy(r, owner)).sort((a, b) => a.revision - b.revision);
}

/**
 * What keeps the history right: `current` is the revision name of the set's template now,
 * `inUse` the revision names its live pods run.
 */
export function planHistory(owner: DaemonSet | StatefulSet, all: readonly ControllerRevision[], current: string, inUse: ReadonlySet<string>): HistoryAction[] {
  const mine = revisionsOf(owner, all);
  const actions: HistoryAction[] = [];
  const highest = mine.reduce((n, r) => Math.max(n, r.revision), 0);
  const existing = mine.find((r) => r.metadata.name === current);
  if (!existing) actions.push({ type: 'create-revision', revision: revisionFor(owner, current, highest + 1) });
  else if (existing.revision < highest) actions.push({ type: 'renumber-revision', name: current, revision: highest + 1 });
  const limit = owner.spec.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT;
  const removable = mine.filter((r) => r.metadata.name !== current && !inUse.has(r.metadata.name!));
  const excess = removable.length - limit;
  for (const r of removable.slice(0, Math.max(0, excess))) actions.push({ type: 'delete-revision', name: r.metadata.name! });
  return actions;
}

/** The ControllerRevision of the set's current template. */
export function revisionFor(owner: DaemonSet | StatefulSet, name: string, revision: number): ControllerRevision {
  const cause = owner.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION];
  const template: PodTemplateSpec = structuredClone(owner.spec.template);
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name,
      namespace: owner.metadata.namespace ?? 'default',
      labels: { ...owner.spec.selector.matchLabels, 'controller-revision-hash': name.slice((owner.metadata.name ?? '').length + 1) },
      ...(cause ? { annotations: { [CHANGE_CAUSE_ANNOTATION]: cause } } : {}),
      ownerReferences: [controllerReferenceTo(owner)],
    },
    data: { spec: { template } },
    revision,
  };
}
