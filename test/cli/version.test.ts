// `berth version` against a real controller and a real agent: the client's version, the
// controller's (the server's) and the agent's, as lines and as a document; --client alone; a
// configured controller that does not answer fails after the client's line.

import * as path from 'node:path';
import t from 'tap';
import pkg from '../../package.json';
import { runCli, startTestAgent } from '../fixtures/agent';
import { startTestController } from '../fixtures/controller';

const version = `v${pkg.version}`;

t.test('berth version', async (t) => {
  const dir = t.testdir();
  const controller = await startTestController(t, dir);
  const agent = await startTestAgent(t, path.join(dir, 'agent'));
  const env = { HOME: dir, BERTH_SERVER: '' };

  t.equal(runCli(['version', '--client'], { env }).stdout, `Client Version: ${version}\n`);
  const both = runCli(['--kubeconfig', controller.kubeconfig, '--agent', agent.socket, 'version'], { env });
  t.equal(both.status, 0, both.stderr);
  t.equal(both.stdout, `Client Version: ${version}\nServer Version: ${version} (controller at ${controller.address})\nAgent Version: ${version} (${agent.socket})\n`);

  const doc = JSON.parse(runCli(['--kubeconfig', controller.kubeconfig, '--agent', agent.socket, 'version', '-o', 'json'], { env }).stdout) as Record<string, { version: string; platform: string }>;
  t.match(doc, { clientVersion: { version, platform: `${process.platform}/${process.arch}` }, serverVersion: { version }, agentVersion: { version } });

  const noAgent = runCli(['--kubeconfig', controller.kubeconfig, '--agent', path.join(dir, 'none.sock'), 'version'], { env });
  t.equal(noAgent.stdout, `Client Version: ${version}\nServer Version: ${version} (controller at ${controller.address})\n`, 'no agent here: no agent line');

  await controller.stop();
  const gone = runCli(['--kubeconfig', controller.kubeconfig, '--agent', path.join(dir, 'none.sock'), 'version'], { env });
  t.equal(gone.status, 1, 'a configured controller that does not answer is an error');
  t.equal(gone.stdout, `Client Version: ${version}\n`);
  t.match(gone.stderr, new RegExp(controller.address.replace(/\./g, '\\.')));
  t.match(runCli(['version', '-o', 'xml'], { env }).stderr, /--output must be json or yaml, not "xml"/);
});
