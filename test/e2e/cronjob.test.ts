// A CronJob every minute with concurrencyPolicy Forbid, on a real controller and agent: its Job
// runs longer than a minute, so the next minute's run is held (JobAlreadyActive) and starts only
// once the first Job completed; Jobs are named by their scheduled minute and annotated with it;
// create job --from=cronjob/NAME runs its template at once; get cronjobs as kubectl's.

import t from 'tap';
import type { CronJob, Job } from '../../proto/resources';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

const cronJob = (image: string) => `apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "* * * * *"
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 200
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          containers: [{name: main, image: ${image}, command: [sh, -c, "echo tick; sleep 65"]}]
`;

t.test('a CronJob every minute with Forbid', async (t) => {
  const { image, agent, berth, file } = await startOneNodeCluster(t, 'tool:1');
  const jobs = () => (JSON.parse(berth(['get', 'jobs', '-o', 'json']).stdout) as { items: Job[] }).items
    .filter((j) => j.metadata.ownerReferences?.some((r) => r.kind === 'CronJob' && r.controller))
    .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  const scheduledAt = (j: Job) => Date.parse(j.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'] ?? '');

  t.equal(berth(['apply', '-f', file('cron.yaml', cronJob(image))]).status, 0);
  t.match(berth(['get', 'cronjobs']).stdout, /^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE\ntick\s+\* \* \* \* \*\s+<none>\s+False\s+0\s+<none>\s+/);

  const [first] = await eventually('the first run', () => (jobs().length >= 1 ? jobs() : undefined), 75_000, 500);
  t.equal(first!.metadata.name, `tick-${scheduledAt(first!) / 60_000}`, 'named by its scheduled minute');
  t.equal(scheduledAt(first!) % 60_000, 0);

  // The next minute comes while the first still runs: held, not started.
  await eventually('the next minute held', () => /JobAlreadyActive/.test(berth(['events', '--for', 'cronjob/tick']).stdout), 75_000, 500);
  t.equal(jobs().length, 1, 'Forbid: no second Job while the first is active');
  t.equal((JSON.parse(berth(['get', 'cronjob', 'tick', '-o', 'json']).stdout) as CronJob).status?.active?.length, 1);

  // The first completes; the held run starts then, for its own minute.
  const both = await eventually('the held run after the first completed', () => (jobs().length === 2 ? jobs() : undefined), 90_000, 500);
  const firstDone = both[0]!;
  t.match(firstDone.status?.conditions?.find((c) => c.type === 'Complete'), { status: 'True' });
  t.equal(scheduledAt(both[1]!), scheduledAt(firstDone) + 60_000, "the held minute's run");
  t.ok(Date.parse(both[1]!.metadata.creationTimestamp!) >= Date.parse(firstDone.status!.completionTime!) - 1000, 'made only once the first had completed');
  t.match(berth(['logs', `job/${firstDone.metadata.name}`]).stdout, /^tick\n$/);

  // By hand, from the template, at once.
  const manual = berth(['create', 'job', 'by-hand', '--from=cronjob/tick']);
  t.equal(manual.stdout, 'job.batch/by-hand created\n', manual.stderr);
  const made = JSON.parse(berth(['get', 'job', 'by-hand', '-o', 'json']).stdout) as Job;
  t.equal(made.metadata.annotations?.['cronjob.kubernetes.io/instantiate'], 'manual');
  t.match(made.metadata.ownerReferences, [{ kind: 'CronJob', name: 'tick' }]);
  t.match(berth(['create', 'job', 'by-hand', '--from=cronjob/tick']).stderr, /jobs.batch "by-hand" already exists/);

  t.equal(berth(['delete', 'cronjob', 'tick']).status, 0);
  t.equal(berth(['delete', 'job', 'by-hand']).status, 0);
  await eventually("the CronJob's Jobs go with it", () => jobs().length === 0, 60_000, 500);
  await eventually('no containers left', () => agent.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 300);
  await agent.stop();
});
