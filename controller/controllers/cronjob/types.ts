// The CronJob controller makes a Job of a CronJob's template at each time of its schedule, as
// Kubernetes' (cronjob controller v2): at most one run per pass, for the most recent time due
// (after a controller outage the missed times are not all run: the latest is, and an event says
// how many were missed); a time later than startingDeadlineSeconds is missed, not run;
// concurrencyPolicy Forbid holds a run while one is active (it starts once that one ends, if still
// within its deadline), Replace stops the active ones first; suspend holds every run. The Jobs are
// named <cronjob>-<minutes since the epoch of their time>, so a time is never run twice; finished
// Jobs beyond the history limits are deleted, oldest first, with their pods.

import type { CronJobStatus, Job } from '../../../proto/resources';
import type { EventAction, ObjectRef, Plan } from '../types';

export const CRONJOB_CONTROLLER = 'cronjob-controller';

/** The scheduled time a CronJob's Job was made for (RFC 3339), as Kubernetes annotates it. */
export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

/** More missed times than this since the last run: an event, as Kubernetes warns. */
export const TOO_MANY_MISSED = 100;

export type CronJobAction =
  | { type: 'create-job'; job: Job }
  | { type: 'delete-job'; job: ObjectRef; reason: 'replaced' | 'history' }
  | { type: 'update-cronjob-status'; cronJob: ObjectRef; status: CronJobStatus }
  | EventAction;

export type CronJobPlan = Plan<CronJobAction>;
