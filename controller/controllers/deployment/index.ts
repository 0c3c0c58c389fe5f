// The deployment controller's pure decisions. See types.ts for the lifecycle of a rollout.
// Its loop (loop.ts) is started by ../index.ts and not exported here: the planner loads no I/O.

export { plan } from './plan';
export { templateHash, sameTemplate } from './hash';
export { maxSurge, maxUnavailable, resolveFenceposts, scaledValue } from './fenceposts';
export { revisionNumber } from './revision';
export {
  POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION, DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION, DEPLOYMENT_CONTROLLER, Reason,
  type DeploymentAction, type DeploymentPlan,
} from './types';
