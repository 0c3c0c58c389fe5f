// The Job planner: parallelism and completions, the work-queue mode, Indexed Jobs (one success
// per index, the index in an annotation, label, env and host name), failures with their back-off
// up to backoffLimit (restarts count with OnFailure), activeDeadlineSeconds, podFailurePolicy,
// suspend and resume, ttlSecondsAfterFinished; conditions and reasons as Kubernetes'.

import t from 'tap';
import type { Job, Pod, PodPhase } from '../../proto/resources';
import { formatIndexes, plan, type JobAction, type JobPlan } from '../../controller/controllers/job';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const NOW = new Date(T0 + 60_000);

function job(spec: Partial<Job['spec']> = {}, status?: Job['status']): Job {
  return {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: { name: 'pi', namespace: 'batch', uid: 'job-uid', generation: 1 },
    spec: {
      parallelism: 1, completions: 1, backoffLimit: 6, completionMode: 'NonIndexed', suspend: false,
      template: { metadata: { labels: { app: 'pi' } }, spec: { containers: [{ name: 'main', image: 'perl' }], restartPolicy: 'Never' } },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

let n = 0;
function pod(phase: PodPhase, o: { index?: number; exitCode?: number; finished?: number; ready?: boolean; restarts?: number; created?: number } = {}): Pod {
  n++;
  const terminated = phase === 'Succeeded' || phase === 'Failed';
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: `pi-${n}`, namespace: 'batch', uid: `p-${n}`, creationTimestamp: iso(o.created ?? T0),
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'pi', uid: 'job-uid', controller: true }],
      ...(o.index !== undefined ? { annotations: { 'batch.kubernetes.io/job-completion-index': String(o.index) } } : {}),
    },
    spec: { containers: [{ name: 'main', image: 'perl' }] },
    status: {
      phase,
      ...(o.ready ? { conditions: [{ type: 'Ready', status: 'True' }] } : {}),
      containerStatuses: [{
        name: 'main', image: 'perl', ready: !!o.ready, restartCount: o.restarts ?? 0,
        state: terminated ? { terminated: { exitCode: o.exitCode ?? (phase === 'Succeeded' ? 0 : 1), finishedAt: iso(o.finished ?? T0) } } : { running: {} },
      }],
    },
  };
}

const suffixes = () => {
  let i = 0;
  return () => `s${String(++i).padStart(4, '0')}`;
};
const creates = (p: JobPlan) => p.actions.filter((a): a is Extract<JobAction, { type: 'create-pod' }> => a.type === 'create-pod').map((a) => a.pod);
const deletes = (p: JobPlan) => p.actions.filter((a) => a.type === 'delete-pod').map((a) => (a as Extract<JobAction, { type: 'delete-pod' }>).pod.name);
const status = (p: JobPlan) => (p.actions.find((a) => a.type === 'update-job-status') as Extract<JobAction, { type: 'update-job-status' }> | undefined)?.status;
const condition = (p: JobPlan, type: string) => status(p)?.conditions?.find((c) => c.type === type);

t.test('parallelism at a time until completions succeed; then Complete', async (t) => {
  const j = job({ parallelism: 3, completions: 5 });
  const first = plan(j, [], NOW, suffixes());
  t.same(creates(first).map((p) => p.metadata.name), ['pi-s0001', 'pi-s0002', 'pi-s0003'], 'three at once');
  const made = creates(first)[0]!;
  t.same(made.metadata.labels, { app: 'pi', 'batch.kubernetes.io/job-name': 'pi', 'job-name': 'pi', 'batch.kubernetes.io/controller-uid': 'job-uid', 'controller-uid': 'job-uid' });
  t.same(made.metadata.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'Job', name: 'pi', uid: 'job-uid', controller: true }]);
  t.equal(status(first)?.startTime, NOW.toISOString());
  t.same(status(first)?.active, 0);

  const started = { startTime: iso(T0) };
  const later = plan(job({ parallelism: 3, completions: 5 }, started), [pod('Succeeded'), pod('Succeeded'), pod('Succeeded'), pod('Running')], NOW, suffixes());
  t.equal(creates(later).length, 1, 'only as many as the completions left need: 5 - 3 - 1 running');
  const done = plan(job({ parallelism: 3, completions: 5 }, started), [1, 2, 3, 4, 5].map(() => pod('Succeeded')), NOW, suffixes());
  t.match(condition(done, 'Complete'), { status: 'True', reason: 'CompletionsReached' });
  t.equal(status(done)?.completionTime, NOW.toISOString());
  t.equal(status(done)?.succeeded, 5);
  t.ok(done.actions.some((a) => a.type === 'event' && a.event.reason === 'Completed'));
  const again = plan(job({ parallelism: 3, completions: 5 }, status(done)), [1, 2, 3, 4, 5].map(() => pod('Succeeded')), NOW, suffixes());
  t.same(again.actions, [], 'a finished Job is left alone');
});

t.test('a work queue (no completions): done when one succeeded and all ended', async (t) => {
  const j = job({ parallelism: 2, completions: undefined }, { startTime: iso(T0) });
  t.equal(creates(plan(j, [], NOW, suffixes())).length, 2);
  const one = plan(j, [pod('Succeeded'), pod('Running')], NOW, suffixes());
  t.equal(creates(one).length, 0, 'no new pod after a success');
  t.notOk(condition(one, 'Complete'), 'not done while one still works');
  t.match(condition(plan(j, [pod('Succeeded'), pod('Succeeded')], NOW, suffixes()), 'Complete'), { status: 'True' });
});

t.test('failures: replaced after a back-off, until more than backoffLimit failed', async (t) => {
  const j = job({ backoffLimit: 2 }, { startTime: iso(T0) });
  const justFailed = plan(j, [pod('Failed', { finished: NOW.getTime() - 1000 })], NOW, suffixes());
  t.equal(creates(justFailed).length, 0, 'not at once');
  t.equal(justFailed.requeueAfterMs, 9000, '10 s after the failure');
  t.equal(creates(plan(j, [pod('Failed', { finished: NOW.getTime() - 11_000 })], NOW, suffixes())).length, 1, 'after 10 s');
  const twice = plan(j, [pod('Failed', { finished: NOW.getTime() - 15_000 }), pod('Failed', { finished: NOW.getTime() - 15_000 })], NOW, suffixes());
  t.equal(twice.requeueAfterMs, 5000, 'the second failure doubles it: 20 s');
  const over = plan(j, [pod('Failed'), pod('Failed'), pod('Failed'), pod('Running')], NOW, suffixes());
  t.match(condition(over, 'Failed'), { status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
  t.equal(deletes(over).length, 1, 'what still runs is stopped');
  t.equal(status(over)?.failed, 3);
  const onFailure = job({ backoffLimit: 2, template: { spec: { containers: [{ name: 'main', image: 'perl' }], restartPolicy: 'OnFailure' } } }, { startTime: iso(T0) });
  t.match(condition(plan(onFailure, [pod('Running', { restarts: 3 })], NOW, suffixes()), 'Failed'), { reason: 'BackoffLimitExceeded' }, 'OnFailure: restarts in place count');
});

t.test('activeDeadlineSeconds from the start', async (t) => {
  const running = plan(job({ activeDeadlineSeconds: 100 }, { startTime: iso(T0) }), [pod('Running')], NOW, suffixes());
  t.equal(running.requeueAfterMs, 40_000, 'looked at again when the deadline passes');
  const late = plan(job({ activeDeadlineSeconds: 30 }, { startTime: iso(T0) }), [pod('Running')], NOW, suffixes());
  t.match(condition(late, 'Failed'), { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' });
  t.equal(deletes(late).length, 1);
});

t.test('Indexed: one success per index, the index in annotation, label, env and host name; failed indexes retried', async (t) => {
  const j = job({ completionMode: 'Indexed', completions: 5, parallelism: 3 }, { startTime: iso(T0) });
  const first = creates(plan(j, [], NOW, suffixes()));
  t.same(first.map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index']), ['0', '1', '2']);
  t.equal(first[1]!.metadata.name, 'pi-1-s0002');
  t.equal(first[1]!.metadata.labels?.['batch.kubernetes.io/job-completion-index'], '1');
  t.equal(first[1]!.spec.hostname, 'pi-1');
  t.same(first[1]!.spec.containers[0]!.env, [{ name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }]);
  const mid = plan(j, [pod('Succeeded', { index: 0 }), pod('Failed', { index: 1, finished: T0 }), pod('Running', { index: 2 }), pod('Succeeded', { index: 4 })], NOW, suffixes());
  t.same(creates(mid).map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index']), ['1', '3'], 'the failed index again, and the next');
  t.equal(status(mid)?.completedIndexes, '0,4');
  const dup = plan(j, [pod('Running', { index: 2, created: T0 }), pod('Running', { index: 2, created: T0 + 1 })], NOW, suffixes());
  t.equal(deletes(dup).length, 1, 'two pods of one index: the newer goes');
  const done = plan(j, [0, 1, 2, 3, 4].map((index) => pod('Succeeded', { index })), NOW, suffixes());
  t.match(condition(done, 'Complete'), { status: 'True' });
  t.equal(status(done)?.completedIndexes, '0-4');
  t.equal(formatIndexes(new Set([0, 1, 2, 4, 6, 7])), '0-2,4,6-7');
});

t.test('podFailurePolicy: FailJob at once, Ignore not counted', async (t) => {
  const rules = [
    { action: 'FailJob' as const, onExitCodes: { containerName: 'main', operator: 'In' as const, values: [42] } },
    { action: 'Ignore' as const, onPodConditions: [{ type: 'DisruptionTarget' }] },
  ];
  const j = job({ backoffLimit: 0, podFailurePolicy: { rules } }, { startTime: iso(T0) });
  const fatal = plan(j, [pod('Failed', { exitCode: 42 })], NOW, suffixes());
  t.match(condition(fatal, 'Failed'), { reason: 'PodFailurePolicy', message: `Container main for pod batch/pi-${n} failed with exit code 42 matching FailJob rule at index 0` });
  const disrupted = pod('Failed', { exitCode: 137, finished: T0 });
  disrupted.status!.conditions = [{ type: 'DisruptionTarget', status: 'True' }];
  const ignored = plan(j, [disrupted], NOW, suffixes());
  t.notOk(condition(ignored, 'Failed'), 'an ignored failure is not counted against backoffLimit 0');
  t.equal(creates(ignored).length, 1, 'and is replaced without back-off');
  t.notOk(condition(plan(j, [pod('Failed', { exitCode: 1 })], NOW, suffixes()), 'Failed')?.reason === 'PodFailurePolicy', 'another exit code is an ordinary failure');
});

t.test('suspend stops the pods; resume starts over', async (t) => {
  const suspended = plan(job({ suspend: true }, { startTime: iso(T0) }), [pod('Running')], NOW, suffixes());
  t.match(condition(suspended, 'Suspended'), { status: 'True', reason: 'JobSuspended', message: 'Job suspended' });
  t.equal(deletes(suspended).length, 1);
  t.equal(status(suspended)?.startTime, undefined, 'its deadline starts again on resume');
  t.equal(creates(suspended).length, 0);
  const resumed = plan(job({ suspend: false }, status(suspended)), [], NOW, suffixes());
  t.match(condition(resumed, 'Suspended'), { status: 'False', reason: 'JobResumed' });
  t.equal(creates(resumed).length, 1);
});

t.test('ttlSecondsAfterFinished deletes the finished Job', async (t) => {
  const finished = { startTime: iso(T0), completionTime: iso(T0 + 5000), conditions: [{ type: 'Complete', status: 'True' as const, reason: 'CompletionsReached', lastTransitionTime: iso(T0 + 5000) }], active: 0, ready: 0, succeeded: 1, failed: 0 };
  const waiting = plan(job({ ttlSecondsAfterFinished: 100 }, finished), [pod('Succeeded')], NOW, suffixes());
  t.equal(waiting.requeueAfterMs, 45_000);
  t.notOk(waiting.actions.some((a) => a.type === 'delete-job'));
  t.ok(plan(job({ ttlSecondsAfterFinished: 30 }, finished), [pod('Succeeded')], NOW, suffixes()).actions.some((a) => a.type === 'delete-job'));
});

t.test('backoffLimitPerIndex: an index fails alone past its own limit (or by a FailIndex rule); the others go on', async (t) => {
  const spec = { completionMode: 'Indexed' as const, completions: 4, parallelism: 4, backoffLimitPerIndex: 1, backoffLimit: 2147483647 };
  // Index 1 failed once: within its limit, retried (after its back-off; the Job-wide limit defaults to the largest then).
  const once = plan(job(spec, { startTime: iso(T0) }), [pod('Failed', { index: 1, finished: T0 }), pod('Running', { index: 0 }), pod('Running', { index: 2 }), pod('Running', { index: 3 })], NOW, suffixes());
  t.notOk(condition(once, 'Failed'), 'not failed: per index');
  t.same(creates(once).map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index']), ['1']);
  t.equal(status(once)?.failedIndexes, '');
  // Twice: index 1 has failed for good, and is not run again; the rest run on.
  const twice = plan(job(spec, { startTime: iso(T0) }), [pod('Failed', { index: 1 }), pod('Failed', { index: 1 }), pod('Running', { index: 0 }), pod('Running', { index: 2 }), pod('Running', { index: 3 })], NOW, suffixes());
  t.equal(status(twice)?.failedIndexes, '1');
  t.same(creates(twice), []);
  t.notOk(condition(twice, 'Failed'));
  // Every other index succeeds: the Job fails, for its failed index.
  const settled = plan(job(spec, { startTime: iso(T0) }), [pod('Failed', { index: 1 }), pod('Failed', { index: 1 }), pod('Succeeded', { index: 0 }), pod('Succeeded', { index: 2 }), pod('Succeeded', { index: 3 })], NOW, suffixes());
  t.match(condition(settled, 'Failed'), { status: 'True', reason: 'FailedIndexes', message: 'Job has failed indexes' });
  t.equal(status(settled)?.completedIndexes, '0,2-3');
  // maxFailedIndexes: more failed indexes fail the Job at once.
  const many = plan(job({ ...spec, maxFailedIndexes: 0 }, { startTime: iso(T0) }), [pod('Failed', { index: 1 }), pod('Failed', { index: 1 }), pod('Running', { index: 0 })], NOW, suffixes());
  t.match(condition(many, 'Failed'), { reason: 'MaxFailedIndexesExceeded', message: 'Job has exceeded the specified maximal number of failed indexes' });
  // A FailIndex rule fails the index at its first failure.
  const rule = { podFailurePolicy: { rules: [{ action: 'FailIndex' as const, onExitCodes: { operator: 'In' as const, values: [42] } }] } };
  const failIndex = plan(job({ ...spec, ...rule }, { startTime: iso(T0) }), [pod('Failed', { index: 2, exitCode: 42 }), pod('Running', { index: 0 }), pod('Running', { index: 1 }), pod('Running', { index: 3 })], NOW, suffixes());
  t.equal(status(failIndex)?.failedIndexes, '2');
  t.same(creates(failIndex), []);
});

t.test('successPolicy: the Job is done when a rule holds, its other pods stopped', async (t) => {
  const spec = { completionMode: 'Indexed' as const, completions: 5, parallelism: 5 };
  const leader = plan(job({ ...spec, successPolicy: { rules: [{ succeededIndexes: '0' }] } }, { startTime: iso(T0) }),
    [pod('Succeeded', { index: 0 }), pod('Running', { index: 1 }), pod('Running', { index: 2 })], NOW, suffixes());
  t.match(condition(leader, 'SuccessCriteriaMet'), { status: 'True', reason: 'SuccessPolicy', message: 'Matched rules at index 0' });
  t.match(condition(leader, 'Complete'), { status: 'True', reason: 'SuccessPolicy' });
  t.equal(deletes(leader).length, 2, 'the running pods stop');
  const counted = { ...spec, successPolicy: { rules: [{ succeededIndexes: '0-3', succeededCount: 3 }, { succeededCount: 4 }] } };
  t.notOk(condition(plan(job(counted, { startTime: iso(T0) }), [pod('Succeeded', { index: 0 }), pod('Succeeded', { index: 4 }), pod('Running', { index: 1 })], NOW, suffixes()), 'Complete'), '2 of 0-3, 2 in all: not yet');
  t.match(condition(plan(job(counted, { startTime: iso(T0) }), [0, 1, 3].map((index) => pod('Succeeded', { index })), NOW, suffixes()), 'Complete'), { message: 'Matched rules at index 0' });
});

t.test('per index: backoffLimit still holds when given; a failed index beats a success policy', async (t) => {
  const spec = { completionMode: 'Indexed' as const, completions: 10, parallelism: 10, backoffLimitPerIndex: 1, backoffLimit: 3 };
  const four = plan(job(spec, { startTime: iso(T0) }), [0, 1, 2, 3].map((index) => pod('Failed', { index })), NOW, suffixes());
  t.match(condition(four, 'Failed'), { reason: 'BackoffLimitExceeded' }, 'four failures, once each, past the Job-wide 3');
  const policy = { completionMode: 'Indexed' as const, completions: 2, parallelism: 2, backoffLimitPerIndex: 0, successPolicy: { rules: [{ succeededCount: 1 }] } };
  const both = plan(job(policy, { startTime: iso(T0) }), [pod('Failed', { index: 0 }), pod('Succeeded', { index: 1 })], NOW, suffixes());
  t.match(condition(both, 'Failed'), { reason: 'FailedIndexes' }, 'the failure wins, as in Kubernetes');
  t.notOk(condition(both, 'Complete'));
});
