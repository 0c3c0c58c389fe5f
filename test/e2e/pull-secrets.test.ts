// imagePullSecrets on a real agent and a registry that asks for credentials the agent does not
// have: a pod without the Secret cannot pull (ErrImagePull / ImagePullBackOff, the registry's
// words), a pod naming a kubernetes.io/dockerconfigjson Secret made by `create secret
// docker-registry` pulls and runs, and the credentials serve that pod's pulls only; a Secret that
// does not exist is warned about (FailedToRetrieveImagePullSecret).

import t from 'tap';
import type { Pod } from '../../proto/resources';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

const pod = (image: string, name: string, secret?: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
  ${secret ? `imagePullSecrets: [{name: ${secret}}]` : ''}
  containers: [{name: main, image: ${image}, imagePullPolicy: Always, command: [sleep, "3600"]}]
`;

t.test("a pod's imagePullSecrets are used for its own pulls", async (t) => {
  const auth = { username: 'puller', password: `pw-${process.pid}` };
  const { image, agent, berth, file } = await startOneNodeCluster(t, 'private:1', [], { htpasswd: auth });
  const state = (name: string) => (JSON.parse(berth(['get', 'pod', name, '-o', 'json']).stdout) as Pod).status?.containerStatuses?.[0]?.state;

  t.equal(berth(['apply', '-f', file('without.yaml', pod(image, 'without'))]).status, 0);
  const refused = await eventually('the pull refused', () => {
    const w = state('without')?.waiting;
    return w?.reason === 'ErrImagePull' || w?.reason === 'ImagePullBackOff' ? w : undefined;
  }, 60_000, 300);
  t.match(refused.message, /credentials|unauthorized|authentication required/i, 'the registry\'s refusal');

  const registryHost = image.split('/')[0]!;
  const made = berth(['create', 'secret', 'docker-registry', 'regcred', '--docker-server', registryHost, '--docker-username', auth.username, '--docker-password', auth.password]);
  t.equal(made.status, 0, made.stderr);
  const withSecret = berth(['apply', '-f', file('with.yaml', pod(image, 'with', 'regcred')), '--wait=90s']);
  t.equal(withSecret.status, 0, `pulled with the Secret, running: ${withSecret.stderr} ${berth(['describe', 'pod', 'with']).stdout}`);
  t.equal((JSON.parse(berth(['get', 'pod', 'with', '-o', 'json']).stdout) as Pod).status?.phase, 'Running');

  // Another pull of the pod without the Secret (pull policy Always): still refused.
  t.equal(berth(['delete', 'pod', 'without']).status, 0);
  await eventually('the first pod gone', () => berth(['get', 'pod', 'without']).status === 1, 60_000, 300);
  t.equal(berth(['apply', '-f', file('without.yaml', pod(image, 'without'))]).status, 0);
  await eventually('refused again', () => ['ErrImagePull', 'ImagePullBackOff'].includes(state('without')?.waiting?.reason ?? ''), 60_000, 300);

  t.equal(berth(['apply', '-f', file('missing.yaml', pod(image, 'missing', 'nope'))]).status, 0);
  await eventually('the missing Secret warned about', () => /FailedToRetrieveImagePullSecret.*Unable to retrieve some image pull secrets \("nope"\)/.test(berth(['get', 'events']).stdout), 60_000, 300);

  t.equal(berth(['delete', 'pods', 'with', 'without', 'missing']).status, 0);
  await eventually('no containers left', () => agent.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
  await agent.stop();
});
