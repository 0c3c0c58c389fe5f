// The StatefulSet controller's pure decisions. See types.ts.
// Its loop (loop.ts) is started by ../index.ts and not exported here: the planner loads no I/O.

export { plan, podFor, claimsFor, claimName, ordinalOf, revisionOf } from './plan';
export { STATEFULSET_CONTROLLER, POD_NAME_LABEL, POD_INDEX_LABEL, type StatefulSetAction, type StatefulSetPlan } from './types';
