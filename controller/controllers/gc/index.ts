// The garbage collector's pure decisions. See types.ts.

export { plan } from './plan';
export { GARBAGE_COLLECTOR, type GcAction, type GcPlan } from './types';
