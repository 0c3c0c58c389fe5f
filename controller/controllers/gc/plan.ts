// Orphans to delete, owners before what they own: a ReplicaSet goes before its pods, so that it
// does not recreate them meanwhile.

import type { Resource } from '../../../proto/resources';
import { kindInfo } from '../../../proto/resources';
import { controllerRef, refOf } from '../meta';
import { isBeingDeleted } from '../pods';
import type { GcAction, GcPlan } from './types';

export function plan(objects: readonly Resource[]): GcPlan {
  const byUid = new Map<string, Resource>();
  for (const o of objects) if (o.metadata.uid) byUid.set(o.metadata.uid, o);
  const doomed = new Set<string>();
  const decided = new Set<Resource>();
  const actions: GcAction[] = [];
  // Level by level: first the objects whose owner is absent, then those whose owner is doomed.
  for (let changed = true; changed;) {
    changed = false;
    const level: GcAction[] = [];
    for (const o of objects) {
      if (decided.has(o)) continue;
      const ref = controllerRef(o);
      if (!ref?.uid) continue;
      const owner = byUid.get(ref.uid);
      const present = owner !== undefined && sameScope(owner, o) && !(owner.metadata.uid && doomed.has(owner.metadata.uid));
      if (present) continue;
      decided.add(o);
      if (o.metadata.uid) doomed.add(o.metadata.uid);
      // One already being deleted needs no second delete, but its dependents still go.
      if (!isBeingDeleted(o)) level.push({ type: 'delete-orphan', kind: o.kind, object: refOf(o), owner: ref });
      changed = true;
    }
    actions.push(...level);
  }
  return { actions };
}

/** A namespaced owner must be in its dependent's namespace (Kubernetes ignores one that is not). */
function sameScope(owner: Resource, dependent: Resource): boolean {
  const namespaced = kindInfo(owner.kind)?.namespaced ?? true;
  return !namespaced || owner.metadata.namespace === dependent.metadata.namespace;
}
