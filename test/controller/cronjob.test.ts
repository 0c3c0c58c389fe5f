// The CronJob planner: a Job per scheduled time (named by its minute), only the latest of many
// missed times after an outage, startingDeadlineSeconds, Forbid and Replace, suspend, time zones
// and macros, history limits; and the schedule's validation in Kubernetes' words.

import t from 'tap';
import type { CronJob, Job } from '../../proto/resources';
import { scheduleProblem, scheduleTimes } from '../../proto/resources';
import { plan, type CronJobAction, type CronJobPlan } from '../../controller/controllers/cronjob';

const iso = (s: string) => new Date(s).toISOString();

function cronJob(spec: Partial<CronJob['spec']> = {}, status?: CronJob['status']): CronJob {
  return {
    apiVersion: 'batch/v1', kind: 'CronJob',
    metadata: { name: 'hello', namespace: 'default', uid: 'cj-uid', creationTimestamp: iso('2026-01-01T00:00:30Z') },
    spec: {
      schedule: '*/5 * * * *', concurrencyPolicy: 'Allow', suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1,
      jobTemplate: { metadata: { labels: { app: 'hello' } }, spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }], restartPolicy: 'OnFailure' } } } },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

function job(name: string, state: 'active' | 'Complete' | 'Failed', start = '2026-01-01T00:05:00Z'): Job {
  return {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: { name, namespace: 'default', uid: `u-${name}`, creationTimestamp: start, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'hello', uid: 'cj-uid', controller: true }] },
    spec: { template: { spec: { containers: [] } } },
    status: { startTime: start, ...(state === 'active' ? { active: 1 } : { conditions: [{ type: state, status: 'True' }], ...(state === 'Complete' ? { completionTime: start } : {}) }) },
  };
}

const created = (p: CronJobPlan) => p.actions.filter((a): a is Extract<CronJobAction, { type: 'create-job' }> => a.type === 'create-job').map((a) => a.job);
const deleted = (p: CronJobPlan) => p.actions.filter((a): a is Extract<CronJobAction, { type: 'delete-job' }> => a.type === 'delete-job').map((a) => `${a.job.name}:${a.reason}`);
const reasons = (p: CronJobPlan) => p.actions.filter((a) => a.type === 'event').map((a) => (a as Extract<CronJobAction, { type: 'event' }>).event.reason);
const status = (p: CronJobPlan) => (p.actions.find((a) => a.type === 'update-cronjob-status') as Extract<CronJobAction, { type: 'update-cronjob-status' }> | undefined)?.status;

t.test('a Job per scheduled time, named by its minute; looked at again at the next time', async (t) => {
  const before = plan(cronJob(), [], new Date('2026-01-01T00:04:00Z'));
  t.same(created(before), [], 'nothing due yet');
  t.equal(before.requeueAfterMs, 60_100, 'the next time, 00:05');
  const due = plan(cronJob(), [], new Date('2026-01-01T00:05:01Z'));
  const [made] = created(due);
  t.equal(made?.metadata.name, `hello-${Date.parse('2026-01-01T00:05:00Z') / 60_000}`);
  t.same(made?.metadata.labels, { app: 'hello' });
  t.equal(made?.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], '2026-01-01T00:05:00Z');
  t.same(made?.metadata.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'hello', uid: 'cj-uid', controller: true }]);
  t.equal(made?.spec.template.spec.restartPolicy, 'OnFailure');
  t.match(status(due), { lastScheduleTime: iso('2026-01-01T00:05:00Z'), active: [{ kind: 'Job', name: made?.metadata.name }] });
  const again = plan(cronJob({}, { lastScheduleTime: iso('2026-01-01T00:05:00Z') }), [job(made!.metadata.name!, 'active')], new Date('2026-01-01T00:06:00Z'));
  t.same(created(again), [], 'a time is run once');
});

t.test('after an outage: the latest missed time only; too late is missed; many missed is told', async (t) => {
  const outage = plan(cronJob({}, { lastScheduleTime: iso('2026-01-01T00:05:00Z') }), [], new Date('2026-01-01T01:02:00Z'));
  t.same(created(outage).map((j) => j.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp']), ['2026-01-01T01:00:00Z'], 'the latest of the missed times');
  const late = plan(cronJob({ startingDeadlineSeconds: 60 }, { lastScheduleTime: iso('2026-01-01T00:05:00Z') }), [], new Date('2026-01-01T01:02:00Z'));
  t.same(created(late), [], 'more than startingDeadlineSeconds late: not run');
  const inTime = plan(cronJob({ startingDeadlineSeconds: 200 }, { lastScheduleTime: iso('2026-01-01T00:05:00Z') }), [], new Date('2026-01-01T01:02:00Z'));
  t.equal(created(inTime).length, 1, 'within the deadline: run');
  const everyMinute = plan(cronJob({ schedule: '* * * * *' }, { lastScheduleTime: iso('2026-01-01T00:00:00Z') }), [], new Date('2026-01-01T03:00:30Z'));
  t.ok(reasons(everyMinute).includes('TooManyMissedTimes'));
  t.same(created(everyMinute).map((j) => j.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp']), ['2026-01-01T03:00:00Z']);
});

t.test('concurrency: Allow overlaps, Forbid holds, Replace stops the active one; suspend holds all', async (t) => {
  const now = new Date('2026-01-01T00:10:01Z');
  const last = { lastScheduleTime: iso('2026-01-01T00:05:00Z') };
  const running = job('hello-1', 'active');
  t.equal(created(plan(cronJob({}, last), [running], now)).length, 1, 'Allow');
  const forbid = plan(cronJob({ concurrencyPolicy: 'Forbid' }, last), [running], now);
  t.same(created(forbid), []);
  t.ok(reasons(forbid).includes('JobAlreadyActive'));
  t.equal(forbid.requeueAfterMs, undefined, "held until the active Job's end wakes it");
  t.equal(created(plan(cronJob({ concurrencyPolicy: 'Forbid' }, last), [job('hello-1', 'Complete')], now)).length, 1, 'the held run starts once the active one ended');
  const replace = plan(cronJob({ concurrencyPolicy: 'Replace' }, last), [running], now);
  t.same([deleted(replace), created(replace).length], [['hello-1:replaced'], 1]);
  t.same(created(plan(cronJob({ suspend: true }, last), [], now)), [], 'suspended');
});

t.test('history limits, time zones and macros', async (t) => {
  const jobs = ['01', '02', '03', '04'].map((m) => job(`ok-${m}`, 'Complete', `2026-01-01T00:${m}:00Z`));
  const failed = ['01', '02'].map((m) => job(`bad-${m}`, 'Failed', `2026-01-01T00:${m}:30Z`));
  const p = plan(cronJob({ suspend: true }), [...jobs, ...failed], new Date('2026-01-01T00:10:00Z'));
  t.same(deleted(p), ['ok-01:history', 'bad-01:history'], 'the oldest beyond 3 successful and 1 failed');
  t.equal(status(p)?.lastSuccessfulTime, '2026-01-01T00:04:00Z');

  const berlin = scheduleTimes('0 9 * * *', 'Europe/Berlin', new Date('2026-01-01T00:00:00Z'), new Date('2026-01-02T00:00:00Z'), 5);
  t.same(berlin.map((d) => d.toISOString()), ['2026-01-01T08:00:00.000Z'], '09:00 in Berlin is 08:00 UTC in winter');
  t.same(scheduleTimes('@hourly', undefined, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T02:00:00Z'), 5).map((d) => d.toISOString()), ['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z']);
});

t.test("a schedule Kubernetes would refuse, in its words", async (t) => {
  t.equal(scheduleProblem('*/5 * * * *'), undefined);
  t.equal(scheduleProblem('@daily', 'America/New_York'), undefined);
  t.same(scheduleProblem('* * * *'), { field: 'schedule', message: 'expected exactly 5 fields, found 4: * * * *' });
  t.same(scheduleProblem('0 0 * * * *'), { field: 'schedule', message: 'expected exactly 5 fields, found 6: 0 0 * * * *' });
  t.same(scheduleProblem('TZ=UTC 0 * * * *'), { field: 'schedule', message: 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead' });
  t.same(scheduleProblem('@fortnightly'), { field: 'schedule', message: 'unrecognized descriptor: @fortnightly' });
  t.same(scheduleProblem('0 * * * *', 'Mars/Olympus'), { field: 'timeZone', message: 'unknown time zone Mars/Olympus' });
  t.match(scheduleProblem('61 * * * *')?.message, /minute/);
});
