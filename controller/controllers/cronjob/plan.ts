// The CronJob controller's decision for one CronJob (defaults applied), as Kubernetes'
// syncCronJob. See types.ts.

import { nextScheduleTime, scheduleTimes, type CronJob, type CronJobStatus, type Job, type ObjectReference } from '../../../proto/resources';
import { controllerReferenceTo, eventFor, isControlledBy, objectReference, refOf, sameJson, timeOf } from '../meta';
import { isBeingDeleted } from '../pods';
import { CRONJOB_CONTROLLER, SCHEDULED_TIMESTAMP_ANNOTATION, TOO_MANY_MISSED, type CronJobAction, type CronJobPlan } from './types';

const finished = (job: Job): 'Complete' | 'Failed' | undefined => {
  for (const type of ['Complete', 'Failed'] as const) if (job.status?.conditions?.some((c) => c.type === type && c.status === 'True')) return type;
  return undefined;
};

export function plan(cj: CronJob, allJobs: readonly Job[], now: Date): CronJobPlan {
  const jobs = allJobs.filter((j) => isControlledBy(j, cj));
  const actions: CronJobAction[] = [];
  const events: CronJobAction[] = [];
  const event = (type: 'Normal' | 'Warning', reason: string, message: string) =>
    events.push({ type: 'event', event: eventFor(cj, CRONJOB_CONTROLLER, type, reason, message) });
  const spec = cj.spec;
  const active = jobs.filter((j) => !finished(j) && !isBeingDeleted(j));
  let lastScheduleTime = cj.status?.lastScheduleTime;
  const successes = jobs.filter((j) => finished(j) === 'Complete').map((j) => j.status?.completionTime).filter((t): t is string => !!t).sort();
  const lastSuccessfulTime = successes.at(-1) ?? cj.status?.lastSuccessfulTime;
  let activeRefs: ObjectReference[] = active.map(objectReference);
  let requeueAt: number | undefined;

  if (!spec.suspend && !isBeingDeleted(cj)) {
    // The times due since the last run (or since the CronJob was made), the latest of them run.
    const since = new Date(Math.max(timeOf(lastScheduleTime) ?? timeOf(cj.metadata.creationTimestamp) ?? now.getTime(),
      spec.startingDeadlineSeconds !== undefined ? now.getTime() - spec.startingDeadlineSeconds * 1000 - 1 : Number.NEGATIVE_INFINITY));
    const due = scheduleTimes(spec.schedule, spec.timeZone, since, now, TOO_MANY_MISSED + 1);
    if (due.length > TOO_MANY_MISSED) event('Warning', 'TooManyMissedTimes', `too many missed start times: ${due.length}+. Set or decrease .spec.startingDeadlineSeconds or check clock skew`);
    const scheduled = due.length > TOO_MANY_MISSED ? latestDue(spec.schedule, spec.timeZone, since, now) : due.at(-1);
    const next = nextScheduleTime(spec.schedule, spec.timeZone, now);
    if (next) requeueAt = next.getTime();
    if (scheduled) {
      const tooLate = spec.startingDeadlineSeconds !== undefined && scheduled.getTime() + spec.startingDeadlineSeconds * 1000 < now.getTime();
      const name = jobName(cj, scheduled);
      if (tooLate) {
        event('Warning', 'MissSchedule', `Missed scheduled time to start a job: ${scheduled.toISOString()}`);
      } else if (jobs.some((j) => j.metadata.name === name)) {
        // Already made for this time (the status write did not land): nothing to do.
        lastScheduleTime = scheduled.toISOString();
      } else if (spec.concurrencyPolicy === 'Forbid' && active.length > 0) {
        // Held: it runs once the active one ends, if still within its deadline (the time stays due).
        event('Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
        requeueAt = undefined;
      } else {
        if (spec.concurrencyPolicy === 'Replace') {
          for (const job of active) {
            actions.push({ type: 'delete-job', job: refOf(job), reason: 'replaced' });
            event('Normal', 'SuccessfulDelete', `Deleted job ${job.metadata.name}`);
          }
          activeRefs = [];
        }
        const job = jobFor(cj, name, scheduled);
        actions.push({ type: 'create-job', job });
        event('Normal', 'SuccessfulCreate', `Created job ${name}`);
        activeRefs = [...activeRefs, { apiVersion: 'batch/v1', kind: 'Job', name, namespace: cj.metadata.namespace ?? 'default' }];
        lastScheduleTime = scheduled.toISOString();
      }
    }
  }

  // History: finished Jobs beyond the limits go, oldest first.
  for (const [kind, limit] of [['Complete', cj.spec.successfulJobsHistoryLimit ?? 3], ['Failed', cj.spec.failedJobsHistoryLimit ?? 1]] as const) {
    const done = jobs.filter((j) => finished(j) === kind && !isBeingDeleted(j))
      .sort((a, b) => (a.status?.startTime ?? a.metadata.creationTimestamp ?? '').localeCompare(b.status?.startTime ?? b.metadata.creationTimestamp ?? ''));
    for (const job of done.slice(0, Math.max(0, done.length - limit))) {
      actions.push({ type: 'delete-job', job: refOf(job), reason: 'history' });
      event('Normal', 'SawCompletedJob', `Saw completed job: ${job.metadata.name}, status: ${kind}`);
    }
  }

  const status: CronJobStatus = {
    ...(activeRefs.length ? { active: activeRefs } : {}),
    ...(lastScheduleTime ? { lastScheduleTime } : {}),
    ...(lastSuccessfulTime ? { lastSuccessfulTime } : {}),
  };
  if (!sameJson(cj.status ?? {}, status)) actions.push({ type: 'update-cronjob-status', cronJob: refOf(cj), status });
  actions.push(...events);
  return { actions, ...(requeueAt !== undefined ? { requeueAfterMs: Math.max(1, requeueAt - now.getTime() + 100) } : {}) };
}

/** Kubernetes' name for the Job of a scheduled time: the CronJob's name and the time in minutes since the epoch. */
export function jobName(cj: CronJob, scheduled: Date): string {
  return `${cj.metadata.name}-${Math.floor(scheduled.getTime() / 60_000)}`;
}

/** A Job of the CronJob's template for a scheduled time (or made by hand: `create job --from`), controlled by the CronJob. */
export function jobFor(cj: CronJob, name: string, scheduled: Date | undefined, annotations: Record<string, string> = {}): Job {
  const template = structuredClone(cj.spec.jobTemplate);
  return {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: {
      name, namespace: cj.metadata.namespace,
      ...(template.metadata?.labels ? { labels: template.metadata.labels } : {}),
      annotations: { ...template.metadata?.annotations, ...(scheduled ? { [SCHEDULED_TIMESTAMP_ANNOTATION]: scheduled.toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}), ...annotations },
      ownerReferences: [controllerReferenceTo(cj)],
    },
    spec: template.spec,
  };
}

/** The latest time due when very many are: found by stepping, not by listing them all. */
function latestDue(schedule: string, timeZone: string | undefined, since: Date, now: Date): Date | undefined {
  let latest: Date | undefined;
  let from = since;
  for (;;) {
    const batch = scheduleTimes(schedule, timeZone, from, now, 1000);
    if (batch.length === 0) return latest;
    latest = batch.at(-1);
    from = latest!;
  }
}
