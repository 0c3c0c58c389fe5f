// Jobs end to end on a real controller and agent: an Indexed Job with parallelism 3 runs each
// index once (its index in the env and its host name), a failing Job is retried with back-off to
// its backoffLimit and fails with Kubernetes' reason, a podFailurePolicy FailJob rule ends one at
// the first matching exit code, a finished Job past its ttlSecondsAfterFinished goes with its
// pods; berth wait, logs job/x, get and describe as kubectl's.

import t from 'tap';
import type { Job, Pod } from '../../proto/resources';
import { hostResidue } from '../fixtures/agent';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

const job = (image: string, name: string, spec: string, command: string, restartPolicy = 'Never') => `apiVersion: batch/v1
kind: Job
metadata: {name: ${name}}
spec:
${spec}
  template:
    spec:
      restartPolicy: ${restartPolicy}
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: ${image}, command: [sh, -c, '${command}']}]
`;

t.test('Jobs: Indexed with parallelism, retries to backoffLimit, podFailurePolicy, TTL', async (t) => {
  const { image, agent, berth, file } = await startOneNodeCluster(t, 'tool:1', [{ path: 'bin/hostname', type: 'symlink', linkname: 'busybox' }]);
  const jobOf = (name: string) => JSON.parse(berth(['get', 'job', name, '-o', 'json']).stdout) as Job;
  const podsOf = (name: string) => (JSON.parse(berth(['get', 'pods', '-l', `job-name=${name}`, '-o', 'json']).stdout) as { items: Pod[] }).items;

  t.equal(berth(['apply', '-f', file('indexed.yaml', job(image, 'indexed', '  completions: 5\n  parallelism: 3\n  completionMode: Indexed', 'echo index=$JOB_COMPLETION_INDEX host=$(hostname)'))]).status, 0);
  t.equal(berth(['apply', '-f', file('failing.yaml', job(image, 'failing', '  backoffLimit: 1', 'exit 1'))]).status, 0);
  t.equal(berth(['apply', '-f', file('policy.yaml', job(image, 'policy', '  backoffLimit: 6\n  podFailurePolicy:\n    rules: [{action: FailJob, onExitCodes: {operator: In, values: [42]}}]', 'exit 42'))]).status, 0);
  t.equal(berth(['apply', '-f', file('ttl.yaml', job(image, 'ttl', '  ttlSecondsAfterFinished: 2', 'true'))]).status, 0);

  const waited = berth(['wait', '--for=condition=complete', 'job/indexed', '--timeout=120s']);
  t.equal(waited.stdout, 'job.batch/indexed condition met\n', waited.stderr);
  const indexed = jobOf('indexed');
  t.same([indexed.status?.succeeded, indexed.status?.completedIndexes, indexed.status?.failed], [5, '0-4', 0]);
  t.match(berth(['get', 'jobs', 'indexed']).stdout, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\nindexed\s+Complete\s+5\/5\s+\S+\s+\S+\n$/);
  const lines = podsOf('indexed').map((p) => berth(['logs', p.metadata.name!]).stdout.trim()).sort();
  t.same(lines, [0, 1, 2, 3, 4].map((i) => `index=${i} host=indexed-${i}`), 'each index ran once, with its stable host name');
  t.match(berth(['logs', 'job/indexed']).stdout, /^index=\d host=indexed-\d\n$/, 'logs job/NAME: one of its pods');
  t.match(berth(['describe', 'job', 'indexed']).stdout, /Completion Mode:\s+Indexed[\s\S]*Pods Statuses:\s+0 Active \(0 Ready\) \/ 5 Succeeded \/ 0 Failed[\s\S]*Completed Indexes:\s+0-4/);

  const policy = await eventually('the FailJob rule', () => jobOf('policy').status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True'), 60_000, 300);
  t.equal(policy.reason, 'PodFailurePolicy');
  t.match(policy.message, /^Container main for pod default\/policy-\S+ failed with exit code 42 matching FailJob rule at index 0$/);
  t.equal(jobOf('policy').status?.failed, 1, 'at the first failure, backoffLimit 6 notwithstanding');

  const failedWait = berth(['wait', '--for=condition=failed', 'job/failing', '--timeout=90s']);
  t.equal(failedWait.status, 0, failedWait.stderr);
  const failing = jobOf('failing');
  t.match(failing.status?.conditions?.find((c) => c.type === 'Failed'), { status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
  t.equal(failing.status?.failed, 2, 'backoffLimit 1: the first failure retried once');
  const [first, second] = podsOf('failing').map((p) => Date.parse(p.metadata.creationTimestamp!)).sort();
  t.ok(second! - first! >= 10_000, `the retry waited the 10 s back-off (${second! - first!} ms)`);
  t.match(berth(['get', 'jobs', 'failing']).stdout, /failing\s+Failed\s+0\/1\s/);

  await eventually('the TTL Job gone with its pods', () => berth(['get', 'job', 'ttl']).status === 1 && podsOf('ttl').length === 0, 60_000, 300);
  t.match(berth(['get', 'job', 'ttl']).stderr, /jobs.batch "ttl" not found/);

  // Finished pods stay (their logs), but give their addresses back to the node's pool.
  t.ok(podsOf('indexed').length === 5 && podsOf('failing').length === 2, 'the finished pods are kept');
  await eventually('no address held by a finished pod', () => hostResidue(agent).filter((l) => l.startsWith('lease ')).length === 0, 30_000, 300);

  t.equal(berth(['delete', 'jobs', 'indexed', 'failing', 'policy']).status, 0);
  await eventually('no containers left', () => agent.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
  await agent.stop();
});
