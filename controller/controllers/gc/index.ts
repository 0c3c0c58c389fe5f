// The garbage collector's pure decisions. See types.ts.
// Its loop (loop.ts) is started by ../index.ts and not exported here: the planner loads no I/O.

export { plan } from './plan';
export { GARBAGE_COLLECTOR, type GcAction, type GcPlan } from './types';
