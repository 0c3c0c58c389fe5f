// The node lifecycle controller's pure decisions. See types.ts.
// Its loop (loop.ts) is started by ../index.ts and not exported here: the planner loads no I/O.

export { plan } from './plan';
export {
  NODE_CONTROLLER, DEFAULT_NODE_LIFECYCLE, NodeReason,
  type NodeLifecycleOptions, type NodeAction, type NodePlan,
} from './types';
