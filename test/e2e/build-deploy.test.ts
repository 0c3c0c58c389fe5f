// The seed's workflow on a cluster: berth build on the node, berth push to the registry, a
// Deployment that runs the new tag; then a change to one file, a rebuild that reuses every other
// step, a push that uploads only the new layer, and a rollout to the new tag.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Pod } from '../../proto/resources';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

t.test('build, push, deploy, change, rebuild, roll out', async (t) => {
  const { image: base, berth, file, agent, dir } = await startOneNodeCluster(t, 'base:1');
  const registry = base.split('/')[0]!;
  const ctx = path.join(dir, 'app');
  fs.mkdirSync(ctx);
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${base}\nWORKDIR /app\nCOPY message.txt .\nCMD ["sh", "-c", "cat /app/message.txt; exec sleep 3600"]\n`);
  fs.writeFileSync(path.join(ctx, 'message.txt'), 'version one\n');

  const built = agent.berth(['build', '-q', '-t', `${registry}/app:1`, ctx]);
  t.equal(built.status, 0, built.stderr);
  const pushed = agent.berth(['push', `${registry}/app:1`]);
  t.equal(pushed.status, 0, pushed.stderr);
  t.match(pushed.stdout, /Mounted from another repository/, 'the base layers are mounted from the repository the base came from');
  t.equal((pushed.stdout.match(/: Pushed/g) ?? []).length, 2, 'only the build\'s own layers are uploaded (WORKDIR, COPY)');

  const deployment = (tag: string) => file('app.yaml', `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 1
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: app, image: "${registry}/app:${tag}"}]
`);
  const logsOfRunningPod = (): string | undefined => {
    const pods = (JSON.parse(berth(['get', 'pods', '-l', 'app=app', '-o', 'json']).stdout) as { items: Pod[] }).items;
    const ready = pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.containerStatuses?.every((c) => c.ready));
    const name = ready[0]?.metadata.name;
    if (ready.length !== 1 || pods.length !== 1 || name === undefined) return undefined;
    return berth(['logs', name]).stdout;
  };
  t.equal(berth(['apply', '-f', deployment('1')]).status, 0);
  t.ok(await eventually('the pod runs version one', () => logsOfRunningPod() === 'version one\n', 90_000, 300));

  fs.writeFileSync(path.join(ctx, 'message.txt'), 'version two\n');
  const rebuilt = agent.berth(['build', '--progress=plain', '-t', `${registry}/app:2`, ctx]);
  t.equal(rebuilt.status, 0, rebuilt.stderr);
  t.match(rebuilt.stderr, /WORKDIR \/app\n#\d+ CACHED/, 'the unchanged step is reused');
  t.notMatch(rebuilt.stderr, /COPY message\.txt \.\n#\d+ CACHED/, 'the changed file is copied again');
  const pushed2 = agent.berth(['push', `${registry}/app:2`]);
  t.equal(pushed2.status, 0, pushed2.stderr);
  t.equal((pushed2.stdout.match(/: Pushed/g) ?? []).length, 1, 'only the new layer is uploaded');
  t.match(pushed2.stdout, /Layer already exists/, 'the others are there already');

  t.equal(berth(['apply', '-f', deployment('2')]).status, 0);
  const status = berth(['rollout', 'status', 'deployment/app', '--timeout=90s']);
  t.equal(status.status, 0, status.stderr);
  t.ok(await eventually('the pod runs version two', () => logsOfRunningPod() === 'version two\n', 90_000, 300));
});
