// An agent joins as a user would join one: a token from `berth token create`, the controller's
// address, nothing else. It keeps its certificate (key 0600) and renews it before it expires;
// restarted, it comes back with its certificate and no token; the same token joins nothing more.

import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { CLI, makeTestHost, startTestAgent } from '../fixtures/agent';
import { startTestController } from '../fixtures/controller';
import { eventually } from '../fixtures/wait';

const ready = (out: string, node: string) => new RegExp(`^${node} +Ready `, 'm').test(out);

t.test('join with a token, renew the certificate, restart without the token; a used token joins nothing', async (t) => {
  const dir = t.testdir({ 'controller-root': {}, solo: {} });
  // Short: a unix socket path has room for 107 bytes, and tap's test dirs are long.
  const other = fs.mkdtempSync('/tmp/berth-join-');
  t.teardown(() => fs.rmSync(other, { recursive: true, force: true }));
  // Nodes renew two thirds into their certificate's life: 15 s makes that happen within the test.
  const controller = await startTestController(t, dir, { args: ['--node-cert-validity', '15s'] });
  const token = controller.token();
  const host = makeTestHost(t);
  const args = ['--controller', controller.address, '--node-name', 'solo'];
  let agent = await startTestAgent(t, path.join(dir, 'solo'), [...args, '--token', token], host);
  await eventually('node solo Ready', () => ready(controller.berth(['get', 'nodes']).stdout, 'solo'), 30_000, 200);

  const pki = path.join(agent.dataRoot, 'pki');
  t.same(fs.readdirSync(pki).sort(), ['ca.crt', 'node.crt', 'node.key']);
  t.equal(fs.statSync(path.join(pki, 'node.key')).mode & 0o777, 0o600, 'the key is for root alone');
  const first = new X509Certificate(fs.readFileSync(path.join(pki, 'node.crt')));
  t.equal(first.subject, 'CN=system:node:solo\nO=system:nodes');
  t.ok(first.verify(new X509Certificate(fs.readFileSync(path.join(controller.dataRoot, 'pki', 'ca.crt'))).publicKey), 'signed by the cluster CA');
  t.match(controller.berth(['token', 'list']).stdout, /used by solo/);

  const renewed = await eventually('the certificate renewed', () => {
    const now = new X509Certificate(fs.readFileSync(path.join(pki, 'node.crt')));
    return now.serialNumber !== first.serialNumber ? now : undefined;
  }, 40_000, 250);
  t.ok(Date.parse(renewed.validTo) > Date.parse(first.validTo), 'a later expiry');
  t.notSame(renewed.publicKey.export({ type: 'spki', format: 'der' }), first.publicKey.export({ type: 'spki', format: 'der' }), 'for a new key');
  await new Promise((r) => setTimeout(r, 2000));
  t.ok(ready(controller.berth(['get', 'nodes']).stdout, 'solo'), 'still Ready on the renewed certificate');

  await agent.stop();
  agent = await startTestAgent(t, path.join(dir, 'solo'), args, host);
  await eventually('node solo Ready after a restart without a token', () => ready(controller.berth(['get', 'nodes']).stdout, 'solo'), 30_000, 200);
  await agent.stop();

  const again = spawnSync(process.execPath, [CLI, 'agent', '--data-root', path.join(other, 'agent-root'), '--socket', path.join(other, 'a.sock'),
    '--run-dir', path.join(other, 'run'), '--controller', controller.address, '--node-name', 'other', '--token', token], { encoding: 'utf8', timeout: 60_000 });
  t.equal(again.status, 1, again.stderr);
  t.match(again.stderr, `Error: cannot join controller ${controller.address}: join token ${token.split('::')[1]!.split('.')[0]}: already used by node "solo"`);
  t.notOk(fs.existsSync(path.join(other, 'agent-root', 'pki', 'node.crt')), 'no certificate kept');

  const none = spawnSync(process.execPath, [CLI, 'agent', '--data-root', path.join(other, 'agent-root'), '--socket', path.join(other, 'a.sock'),
    '--run-dir', path.join(other, 'run'), '--controller', controller.address, '--node-name', 'other'], { encoding: 'utf8', timeout: 60_000 });
  t.equal(none.status, 1);
  t.match(none.stderr, `Error: node other has no certificate in ${path.join(other, 'agent-root', 'pki')}: give --token TOKEN (from berth token create on the controller) to join`);
});
