// The Job controller's pure decisions. See types.ts.
// Its loop (loop.ts) is started by ../index.ts and not exported here: the planner loads no I/O.

export { plan, podFor, formatIndexes, indexOf, isFinished, finishTime, matchRule } from './plan';
export {
  JOB_CONTROLLER, COMPLETION_INDEX_ANNOTATION, COMPLETION_INDEX_ENV, POD_FAILURE_BACKOFF_MS,
  type JobAction, type JobPlan,
} from './types';
