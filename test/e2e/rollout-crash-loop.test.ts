// The new-user check: a Deployment whose container exits at once and has no readiness
// probe. `apply --wait` and `rollout status` must fail with CrashLoopBackOff rather than call it
// rolled out because its pods were Running for an instant; a healthy Deployment still rolls out.

import t from 'tap';
import { startOneNodeCluster } from '../fixtures/one-node';

const deployment = (image: string, name: string, command: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: ${image}, command: [sh, -c, "${command}"]}]
`;

t.test('apply --wait and rollout status never call a crash-looping rollout done', async (t) => {
  const { image, agent, berth, file } = await startOneNodeCluster(t, 'tool:1');
  const crashing = berth(['apply', '-f', file('crash.yaml', deployment(image, 'crash', 'exit 1')), '--wait=90s']);
  t.equal(crashing.status, 1, `apply --wait fails: ${crashing.stdout}`);
  t.notMatch(crashing.stdout, /successfully rolled out/);
  t.match(crashing.stderr, /deployment\/crash: pod crash-\S+: CrashLoopBackOff/);
  // rollout status waits as kubectl's (a stuck pod may yet recover), saying why, and never calls it done.
  const status = berth(['rollout', 'status', 'deployment/crash', '--timeout', '5s']);
  t.equal(status.status, 1, status.stdout);
  t.equal(status.stderr, 'error: timed out waiting for the condition\n');
  t.match(status.stdout, /Waiting for deployment "crash" rollout to finish: pod crash-\S+: CrashLoopBackOff/);
  t.notMatch(status.stdout, /successfully rolled out/);

  const healthy = berth(['apply', '-f', file('ok.yaml', deployment(image, 'ok', 'exec sleep 3600')), '--wait=90s']);
  t.equal(healthy.status, 0, healthy.stderr);
  t.match(healthy.stdout, /deployment "ok" successfully rolled out/);
  t.match(berth(['rollout', 'status', 'deployment/ok']).stdout, /deployment "ok" successfully rolled out/);

  t.equal(berth(['delete', 'deployment', 'crash', 'ok']).status, 0);
  await t.resolves(new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 60_000;
    const poll = () => (agent.berth(['ps', '-aq']).stdout.trim() === '' ? resolve() : Date.now() > deadline ? reject(new Error('containers left')) : setTimeout(poll, 200));
    poll();
  }));
  await agent.stop();
});
