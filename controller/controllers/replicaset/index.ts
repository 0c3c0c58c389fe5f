// The ReplicaSet controller's pure decisions. See types.ts.
// Its loop (loop.ts) is started by ../index.ts and not exported here: the planner loads no I/O.

export { plan, podFromTemplate } from './plan';
export { deletionOrder } from './rank';
export { randomSuffix } from './random-suffix';
export {
  REPLICASET_CONTROLLER, POD_DELETION_COST_ANNOTATION, BURST_REPLICAS,
  type ReplicaSetAction, type ReplicaSetPlan,
} from './types';
