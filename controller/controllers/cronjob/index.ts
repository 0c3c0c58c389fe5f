// The CronJob controller's pure decisions. See types.ts.
// Its loop (loop.ts) is started by ../index.ts and not exported here: the planner loads no I/O.

export { plan, jobFor, jobName } from './plan';
export { CRONJOB_CONTROLLER, SCHEDULED_TIMESTAMP_ANNOTATION, type CronJobAction, type CronJobPlan } from './types';
