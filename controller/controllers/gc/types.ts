// The garbage collector: an object whose controller owner (the ownerReference with
// controller: true, matched by uid) no longer exists is deleted, and so, in the same plan, are
// the objects it controls (Deployment gone -> its ReplicaSets -> their Pods).
//
// Deleting on absence is only safe over a complete view: pass every object of every kind that
// can own or be owned, and have the executor confirm the owner's absence with a live read before
// deleting (a cache may not have caught up with a just-created owner).

import type { Kind, OwnerReference } from '../../../proto/resources';
import type { ObjectRef, Plan } from '../types';

export const GARBAGE_COLLECTOR = 'garbage-collector';

export interface GcAction {
  type: 'delete-orphan';
  kind: Kind;
  object: ObjectRef;
  /** The owner that is gone (or being deleted by this same plan). */
  owner: OwnerReference;
}

export type GcPlan = Plan<GcAction>;
