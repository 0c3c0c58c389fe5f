// The DaemonSet controller's pure decisions. See types.ts.
// Its loop (loop.ts) is started by ../index.ts and not exported here: the planner loads no I/O.

export { plan, podFor, nodeWants } from './plan';
export { DAEMONSET_CONTROLLER, REVISION_HASH_LABEL, type DaemonSetAction, type DaemonSetPlan } from './types';
