// The node lifecycle controller's pure decisions. See types.ts.

export { plan } from './plan';
export {
  NODE_CONTROLLER, DEFAULT_NODE_LIFECYCLE, NodeReason,
  type NodeLifecycleOptions, type NodeAction, type NodePlan,
} from './types';
