// A controller that restarts loses no agent: kill -9 the controller, start it again on the same
// address and data root; the agent reconnects and resumes its pod watch, running pods are not
// restarted, and a pod applied after the restart runs. And `berth logs -f` follows a pod's
// output through the controller and the agent's tunnel.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { CLI, startTestAgent } from '../fixtures/agent';
import { startTestController } from '../fixtures/controller';
import { buildImage, busyboxLayer, pushImage } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { eventually as waitFor } from '../fixtures/wait';

const pod = (name: string, image: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${image}
      command: ["sleep", "3600"]
`;


const eventually = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000) => waitFor(what, probe, timeoutMs, 200);

t.test('the agent reconnects to a restarted controller and carries on', async (t) => {
  const dir = t.testdir();
  const registry = await startRegistry(t);
  const image = `${registry.host}/sleeper:1`;
  await pushImage(registry.host, 'sleeper:1', await buildImage({ layers: [busyboxLayer()] }));
  let controller = await startTestController(t, dir);
  const address = controller.address;
  const agent = await startTestAgent(t, dir, ['--controller', address, '--token', controller.token(), '--node-name', 'solo']);

  const phase = (name: string) => {
    const r = controller.berth(['get', 'pod', name, '-o', 'json']);
    return r.status === 0 ? (JSON.parse(r.stdout) as { status?: { phase?: string; containerStatuses?: { containerID?: string; restartCount: number }[] } }).status : undefined;
  };
  fs.writeFileSync(path.join(dir, 'first.yaml'), pod('first', image));
  t.equal(controller.berth(['apply', '-f', path.join(dir, 'first.yaml')]).status, 0);
  const before = await eventually('first running', () => (phase('first')?.phase === 'Running' ? phase('first') : undefined));

  await controller.kill();
  controller = await startTestController(t, dir, { listen: address, dataRoot: controller.dataRoot });
  fs.writeFileSync(path.join(dir, 'second.yaml'), pod('second', image));
  t.equal(controller.berth(['apply', '-f', path.join(dir, 'second.yaml')]).status, 0);
  await eventually('second running after the restart', () => phase('second')?.phase === 'Running');
  const after = phase('first');
  t.equal(after?.containerStatuses?.[0]?.containerID, before.containerStatuses?.[0]?.containerID, 'the first pod kept its container');
  t.equal(after?.containerStatuses?.[0]?.restartCount, 0);
  t.equal(agent.berth(['ps', '-q']).stdout.split('\n').filter(Boolean).length, 2);

  t.equal(controller.berth(['delete', 'pod', 'first']).status, 0);
  t.equal(controller.berth(['delete', 'pod', 'second']).status, 0);
  await eventually('containers removed', () => agent.berth(['ps', '-aq']).stdout.trim() === '');
  await agent.stop();
});

t.test('berth logs -f follows a pod through the controller and the agent', async (t) => {
  const dir = t.testdir();
  const registry = await startRegistry(t);
  const image = `${registry.host}/ticker:1`;
  await pushImage(registry.host, 'ticker:1', await buildImage({ layers: [busyboxLayer()] }));
  const controller = await startTestController(t, dir);
  const agent = await startTestAgent(t, dir, ['--controller', controller.address, '--token', controller.token(), '--node-name', 'solo']);
  fs.writeFileSync(path.join(dir, 'ticker.yaml'), `apiVersion: v1
kind: Pod
metadata:
  name: ticker
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${image}
      command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]
`);
  t.equal(controller.berth(['apply', '-f', path.join(dir, 'ticker.yaml')]).status, 0);
  await eventually('ticker running', () => /Running/.test(controller.berth(['get', 'pod', 'ticker']).stdout));

  const follow = spawn(process.execPath, [CLI, '--kubeconfig', controller.kubeconfig, '--server', controller.address, 'logs', '-f', 'ticker'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { follow.kill('SIGKILL'); });
  let out = '';
  follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const before = (out.match(/tick \d+/g) ?? []).length;
  // Lines keep arriving after the call started: it follows, it did not just print and end.
  await eventually('new lines while following', () => (out.match(/tick \d+/g) ?? []).length >= before + 5, 20_000);
  t.equal(follow.exitCode, null, 'still following');
  const ticks = (out.match(/tick (\d+)/g) ?? []).map((l) => Number(l.split(' ')[1]));
  t.same(ticks, ticks.map((_, i) => ticks[0]! + i), 'consecutive lines, none lost or repeated');
  follow.kill('SIGINT');
  await new Promise((r) => follow.once('exit', r));

  t.equal(controller.berth(['delete', 'pod', 'ticker']).status, 0);
  await eventually('containers removed', () => agent.berth(['ps', '-aq']).stdout.trim() === '');
  await agent.stop();
});
