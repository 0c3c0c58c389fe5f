// The persistent volume controller's pure decisions. See types.ts.
// Its loop (loop.ts) is started by ../index.ts and not exported here: the planner loads no I/O.

export { plan, type VolumeWorld } from './plan';
export { VOLUME_CONTROLLER, type VolumeAction, type VolumePlan } from './types';
