// The scheduler's pure decisions. See types.ts for the rules.
// Its loop (loop.ts) is started by ../index.ts and not exported here: the planner loads no I/O.

export { plan } from './plan';
export { podRequests, allocatable, type Resources, type Allocatable } from './requests';
export { unschedulableReason } from './fit';
export { groupOf } from './node-state';
export { SCHEDULER_NAME, FitReason, type Binding, type Unschedulable, type SchedulePlan } from './types';
