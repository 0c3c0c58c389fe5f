// kubectl exec on a real agent: a command in a pod's container through the controller and the
// node's tunnel, its stdout and stderr apart, its exit code passed through; -c names a container
// (else the annotated default, else the first, said as kubectl says it); -i feeds stdin; a user
// without create on pods/exec is refused; a missing container, an ended pod and a command-less
// call are refused in kubectl's words. kubectl attach the same way: a pod's own process, with
// -it on a real terminal, -i feeding a stdinOnce stdin, output only; refused without stdin or
// without create on pods/attach.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { Pod } from '../../proto/resources';
import { CLI, runCli, runCliAsync } from '../fixtures/agent';
import { onTerminal } from '../fixtures/terminal';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

type Cluster = Awaited<ReturnType<typeof startOneNodeCluster>>;

/** A user "viewer" with the view role in the default namespace (reads pods); its kubeconfig file. */
function viewerKubeconfig(t: Test, { berth, file, dir }: Cluster): string {
  const viewerFile = path.join(dir, 'viewer.kubeconfig');
  t.equal(berth(['user', 'create', 'viewer', '-o', viewerFile]).status, 0);
  t.equal(berth(['apply', '-f', file('view.yaml', `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewer-view, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: viewer}]
`)]).status, 0);
  return viewerFile;
}

t.test('berth exec into a pod', async (t) => {
  // tar in the image, as kubectl cp needs it.
  const cluster = await startOneNodeCluster(t, 'tool:1', [{ path: 'bin/tar', type: 'symlink', linkname: 'busybox' }]);
  const { image, berth, file, controller, dir } = cluster;
  const pod = (name: string, extra = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}${extra}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: ${image}, command: [sh, -c, "echo main > /tmp/who; exec sleep 3600"]}
  - {name: side, image: ${image}, command: [sh, -c, "echo side > /tmp/who; exec sleep 3600"]}
`;
  t.equal(berth(['apply', '-f', file('pods.yaml', `${pod('two')}---\n${pod('annotated', ', annotations: {kubectl.kubernetes.io/default-container: side}')}`)]).status, 0);
  for (const name of ['two', 'annotated']) {
    await eventually(`${name} running`, () => (JSON.parse(berth(['get', 'pod', name, '-o', 'json']).stdout) as Pod).status?.containerStatuses?.every((c) => c.ready), 90_000, 300);
  }

  const r = berth(['exec', 'two', '--', 'sh', '-c', 'cat /tmp/who; echo oops >&2; exit 3']);
  t.equal(r.status, 3, 'the command\'s exit code');
  t.equal(r.stdout, 'main\n', 'its stdout, from the first container');
  t.equal(r.stderr, 'Defaulted container "main" out of: main, side\noops\ncommand terminated with exit code 3\n', 'its stderr apart, with kubectl\'s lines');
  t.same(berth(['exec', 'two', '-c', 'side', '--', 'cat', '/tmp/who']), { status: 0, stdout: 'side\n', stderr: '' }, '-c names the container');
  t.same(berth(['exec', 'annotated', '--', 'cat', '/tmp/who']), { status: 0, stdout: 'side\n', stderr: '' }, 'the annotated default container, chosen without a word');
  t.same(berth(['exec', '-i', 'pod/two', '-c', 'main', '--', 'sh', '-c', 'tr a-z A-Z; echo done'], { input: 'hello\nworld\n' }), { status: 0, stdout: 'HELLO\nWORLD\ndone\n', stderr: '' }, '-i: stdin reaches the command, and its end');
  t.equal(berth(['exec', 'two', '-c', 'main', '--', 'cat']).stdout, '', 'without -i the command reads an empty stdin');

  t.match(berth(['exec', 'two', '-c', 'nope', '--', 'true']).stderr, /container nope is not valid for pod two/);
  t.match(berth(['exec', 'missing', '--', 'true']).stderr, /pods "missing" not found/);
  t.match(berth(['exec', 'two']).stderr, /you must specify at least one command for the container/);
  // -t without a terminal here: kubectl's word, and the command runs without one.
  const noTerminal = berth(['exec', '-t', 'two', '--', 'sh', '-c', 'test -t 1 || echo no-tty']);
  t.equal(noTerminal.stdout, 'no-tty\n');
  t.match(noTerminal.stderr, /Unable to use a TTY - input is not a terminal or the right kind of file/);
  // -it from a real terminal: the command's own terminal, sized as ours and following it.
  const session = await onTerminal([process.execPath, CLI, '--kubeconfig', controller.kubeconfig, '--server', controller.address, 'exec', '-it', 'two', '-c', 'main', '--', 'sh'], [
    ['expect', '# ', 30],
    ['send', 'test -t 0 && echo on-a-terminal\r'],
    ['expect', 'on-a-terminal', 10],
    ['resize', 33, 91],
    ['sleep', 0.5],
    ['send', 'stty size 2>/dev/null || echo "$LINES $COLUMNS"\r'],
    ['expect', '33 91', 10],
    ['send', 'exit 7\r'],
  ]);
  t.equal(session.failed, null, session.transcript);
  t.equal(session.status, 7, 'exec -it passes the exit code through');

  // kubectl cp, both ways, through tar in the container.
  const local = path.join(dir, 'cp-src');
  fs.mkdirSync(path.join(local, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(local, 'sub', 'f.txt'), 'from the host\n');
  t.equal(berth(['cp', local, 'two:/tmp/copied', '-c', 'main']).status, 0);
  t.equal(berth(['exec', 'two', '-c', 'main', '--', 'cat', '/tmp/copied/sub/f.txt']).stdout, 'from the host\n', 'a directory copied in under the new name');
  const back = path.join(dir, 'cp-back');
  const out = berth(['cp', 'default/two:/tmp/copied', back, '-c', 'main']);
  t.equal(out.status, 0, out.stderr);
  t.equal(fs.readFileSync(path.join(back, 'sub', 'f.txt'), 'utf8'), 'from the host\n', 'and out again');
  const missingFile = berth(['cp', 'two:/no/such', path.join(dir, 'x'), '-c', 'main']);
  t.equal(missingFile.status, 1);
  t.match(missingFile.stderr, /tar cf - -C \/no -- such in two exited 1/);
  t.equal(berth(['apply', '-f', file('done.yaml', `apiVersion: v1
kind: Pod
metadata: {name: done}
spec:
  restartPolicy: Never
  containers: [{name: main, image: ${image}, command: ["true"]}]
`)]).status, 0);
  await eventually('done succeeded', () => (JSON.parse(berth(['get', 'pod', 'done', '-o', 'json']).stdout) as Pod).status?.phase === 'Succeeded', 90_000, 300);
  t.match(berth(['exec', 'done', '--', 'true']).stderr, /cannot exec into a container in a completed pod; current phase is Succeeded/);

  // Rights: the view role reads pods but may not exec into them.
  const viewerFile = viewerKubeconfig(t, cluster);
  const viewer = runCli(['--kubeconfig', viewerFile, '--server', controller.address, 'exec', 'two', '-c', 'main', '--', 'true']);
  t.equal(viewer.status, 1);
  t.match(viewer.stderr, /User "viewer" cannot create resource "pods\/exec" in API group "" in the namespace "default"/);

  t.equal(berth(['delete', 'pod', 'two', 'annotated', 'done']).status, 0);
});

t.test('berth attach to a pod: its own process, through the controller', async (t) => {
  const cluster = await startOneNodeCluster(t, 'tool:1');
  const { image, berth, file, controller } = cluster;
  t.equal(berth(['apply', '-f', file('attach.yaml', `apiVersion: v1
kind: Pod
metadata: {name: console}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: main, image: ${image}, command: [sh], stdin: true, tty: true}]
---
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  restartPolicy: Never
  containers: [{name: main, image: ${image}, command: [sh, -c, "tr a-z A-Z; echo eof"], stdin: true, stdinOnce: true}]
---
apiVersion: v1
kind: Pod
metadata: {name: ticker}
spec:
  restartPolicy: Never
  containers: [{name: main, image: ${image}, command: [sh, -c, "until [ -e /tmp/go ]; do echo waiting; sleep 0.2; done; echo tick; echo tock >&2; exit 4"]}]
`)]).status, 0);
  for (const name of ['console', 'reader', 'ticker']) {
    await eventually(`${name} running`, () => (JSON.parse(berth(['get', 'pod', name, '-o', 'json']).stdout) as Pod).status?.phase === 'Running', 90_000, 300);
  }

  // -it from a real terminal: the shell the container started with, its terminal sized as ours.
  const session = await onTerminal([process.execPath, CLI, '--kubeconfig', controller.kubeconfig, '--server', controller.address, 'attach', '-it', 'console'], [
    ['expect', 'If you don\'t see a command prompt, try pressing enter.', 30],
    ['send', '\r'],
    ['expect', '# ', 10],
    ['send', 'echo attached-$((6*7))\r'],
    ['expect', 'attached-42', 10],
    ['resize', 33, 91],
    ['sleep', 0.5],
    ['send', 'stty size\r'],
    ['expect', '33 91', 10],
    ['send', 'exit 5\r'],
  ]);
  t.equal(session.failed, null, session.transcript);
  t.equal(session.status, 5, 'attach ends with the run, and its exit code');

  // -i without a terminal: stdin reaches the process; its end closes it (stdinOnce).
  t.same(berth(['attach', '-i', 'reader'], { input: 'hello\n' }), { status: 0, stdout: 'HELLO\neof\n', stderr: '' }, '-i feeds the process and its end ends it');

  // Without -i: the output from now on, stdout and stderr apart.
  const watcher = spawn(process.execPath, [CLI, '--kubeconfig', controller.kubeconfig, '--server', controller.address, 'attach', 'ticker'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => watcher.kill());
  let stdout = '';
  let stderr = '';
  watcher.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  watcher.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<number | null>((resolve) => watcher.on('exit', resolve));
  await eventually('attached', () => stdout.includes('waiting'), 30_000, 100);
  // Async: the test's event loop must keep reading the attach meanwhile.
  t.equal((await runCliAsync(['--kubeconfig', controller.kubeconfig, '--server', controller.address, 'exec', 'ticker', '--', 'sh', '-c', ': > /tmp/go'])).status, 0);
  t.equal(await ended, 4, 'the exit code of the run it joined');
  t.match(stdout, /waiting\ntick\n$/, 'its output, to the end');
  t.equal(stderr, 'tock\n', 'its stderr apart');

  // What the container cannot give, in kubectl's words; and who may attach.
  t.match(berth(['attach', '-i', 'ticker']).stderr, /container main in pod ticker was not made with stdin/);
  const noTerminal = berth(['attach', '-t', 'reader']);
  t.match(noTerminal.stderr, /Unable to use a TTY - input is not a terminal or the right kind of file/);
  t.match(berth(['attach', 'nope']).stderr, /pods "nope" not found/);
  const viewerFile = viewerKubeconfig(t, cluster);
  const viewer = runCli(['--kubeconfig', viewerFile, '--server', controller.address, 'attach', 'console']);
  t.equal(viewer.status, 1);
  t.match(viewer.stderr, /User "viewer" cannot create resource "pods\/attach" in API group "" in the namespace "default"/);
  t.equal(berth(['delete', 'pod', 'console', 'reader', 'ticker']).status, 0);
});
