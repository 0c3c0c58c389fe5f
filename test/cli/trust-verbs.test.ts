// The trust verbs through the real CLI against a real controller: join tokens, user kubeconfigs,
// can-i, config, and what a client sees when it is refused or cannot trust the controller.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { runCli } from '../fixtures/agent';
import { startTestController } from '../fixtures/controller';

t.test('tokens, users, can-i and config, as kubeadm and kubectl users expect them', async (t) => {
  const dir = t.testdir({ home: {}, 'controller-root': {} });
  const ctl = await startTestController(t, dir);
  const env = { HOME: path.join(dir, 'home'), BERTH_SERVER: '' };
  const admin = (args: string[]) => ctl.berth(args, { env });

  const created = admin(['token', 'create', '--ttl', '2h', '--description', 'rack 3']);
  t.equal(created.status, 0, created.stderr);
  const token = created.stdout.trim();
  t.match(token, /^K10[0-9a-f]{64}::[a-z0-9]{6}\.[a-z0-9]{16}$/);
  const id = token.split('::')[1]!.split('.')[0]!;
  const listed = admin(['token', 'list']);
  t.match(listed.stdout, new RegExp(`^TOKEN ID +TTL +EXPIRES +STATE +DESCRIPTION\\n${id} +(119m|120m|2h) +\\S+ +unused +rack 3\\n$`));
  t.notMatch(listed.stdout, token.split('.')[1]!, 'the secret is never listed');
  t.same(admin(['token', 'delete', id]), { status: 0, stdout: `bootstrap token "${id}" deleted\n`, stderr: '' });
  t.match(admin(['token', 'delete', id]).stderr, `Error from server (NotFound): bootstrap token "${id}" not found`);
  t.match(admin(['token', 'create', '--ttl', 'soon']).stderr, 'invalid argument "soon" for "--ttl" flag');

  const aliceFile = path.join(dir, 'alice.kubeconfig');
  const made = admin(['user', 'create', 'alice', '--group', 'dev', '-o', aliceFile]);
  t.equal(made.stdout, `user "alice" (groups dev): kubeconfig written to ${aliceFile}\n`, made.stderr);
  t.equal(fs.statSync(aliceFile).mode & 0o777, 0o600);
  const alice = (args: string[]) => runCli(['--kubeconfig', aliceFile, ...args], { env });
  t.same(alice(['get', 'pods']), {
    status: 1, stdout: '',
    stderr: 'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"\n',
  });
  t.same(alice(['auth', 'can-i', 'list', 'pods']), { status: 1, stdout: 'no\n', stderr: '' });
  const forbiddenAll = alice(['get', 'all']);
  t.equal(forbiddenAll.status, 1);
  t.equal(forbiddenAll.stderr.split('\n').filter((l) => l.startsWith('Error from server (Forbidden)')).length, 9, 'get all: each kind it may not list is reported');
  t.same(admin(['auth', 'can-i', 'delete', 'deployments', '-n', 'shop']), { status: 0, stdout: 'yes\n', stderr: '' });
  t.same(admin(['auth', 'can-i', 'get', 'pods/log', '--as', 'alice', '--as-group', 'dev']), { status: 1, stdout: 'no\n', stderr: '' });
  t.match(admin(['user', 'create', 'system:node:x']).stderr, 'invalid user name "system:node:x"');
  t.match(alice(['user', 'create', 'bob']).stderr, 'Error from server (Forbidden): certificatesigningrequests.certificates.k8s.io "bob" is forbidden: User "alice" cannot create');

  fs.writeFileSync(path.join(dir, 'binding.yaml'), `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: dev-view, namespace: default }
subjects: [{ kind: Group, apiGroup: rbac.authorization.k8s.io, name: dev }]
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view }
`);
  t.equal(admin(['apply', '-f', path.join(dir, 'binding.yaml')]).stdout, 'rolebinding.rbac.authorization.k8s.io/dev-view created\n');
  for (let i = 0; i < 50 && alice(['auth', 'can-i', 'list', 'pods']).status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  t.same(alice(['auth', 'can-i', 'list', 'pods']), { status: 0, stdout: 'yes\n', stderr: '' }, 'bound through the group its certificate names');
  t.equal(alice(['get', 'pods']).status, 0);
  const viewAll = alice(['get', 'all']);
  t.equal(viewAll.status, 0, 'view lists every kind get all shows');
  t.equal(viewAll.stderr, '');
  t.match(viewAll.stdout, /^NAME\s+TYPE\s+CLUSTER-IP[^]*service\/kubernetes\s+ClusterIP/);
  t.same(alice(['auth', 'can-i', 'create', 'pods']), { status: 1, stdout: 'no\n', stderr: '' });

  // config: what kubectl config shows, on the file this client reads.
  const view = runCli(['config', 'view'], { env: { ...env, BERTH_CONFIG: aliceFile } });
  t.match(view.stdout, /client-key-data: REDACTED\n/);
  t.match(view.stdout, /certificate-authority-data: DATA\+OMITTED\n/);
  t.notMatch(view.stdout, /LS0t/, 'no key or certificate material shown');
  t.match(runCli(['config', 'view', '--raw'], { env: { ...env, BERTH_CONFIG: aliceFile } }).stdout, /client-key-data: LS0t/);
  t.same(runCli(['config', 'get-contexts'], { env: { ...env, BERTH_CONFIG: aliceFile } }).stdout,
    'CURRENT   NAME          CLUSTER   AUTHINFO   NAMESPACE\n*         alice@berth   berth     alice\n');
  const both = { ...env, KUBECONFIG: `${aliceFile}:${ctl.kubeconfig}` };
  t.equal(runCli(['config', 'current-context'], { env: both }).stdout, 'alice@berth\n');
  t.equal(runCli(['config', 'use-context', 'berth-admin@berth'], { env: both }).stdout, 'Switched to context "berth-admin@berth".\n');
  t.equal(runCli(['config', 'current-context'], { env: both }).stdout, 'berth-admin@berth\n');
  t.equal(runCli(['auth', 'can-i', 'create', 'pods'], { env: both }).stdout, 'yes\n', 'now the admin');
  t.match(runCli(['config', 'use-context', 'nope'], { env: both }).stderr, 'no context exists with the name: "nope"');

});

t.test('a kubeconfig with another cluster\'s CA does not reach the controller', async (t) => {
  const dir = t.testdir({ home: {}, 'controller-root': {}, 'other-root': {} });
  const ctl = await startTestController(t, dir);
  const other = await startTestController(t, dir, { dataRoot: path.join(dir, 'other-root') });
  const env = { HOME: path.join(dir, 'home'), BERTH_SERVER: '' };
  const r = runCli(['--kubeconfig', other.kubeconfig, '--server', ctl.address, 'get', 'pods'], { env });
  t.equal(r.status, 1);
  t.comment(r.stderr);
  t.match(r.stderr, new RegExp(`^Unable to connect to the controller ${ctl.address.replace(/\./g, '\\.')}: TLS: .*certificate`));
});
