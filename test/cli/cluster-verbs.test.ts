// The cluster verbs end to end: the built CLI against a real controller process (no agents, so
// pods stay unscheduled; Deployments, ReplicaSets and the store's answers are all real).

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { CLI, runCli } from '../fixtures/agent';
import { startTestController, type TestController } from '../fixtures/controller';
import { eventually } from '../fixtures/wait';

const deployment = (name: string, extra: { replicas?: number; image?: string; labels?: Record<string, string>; namespace?: string } = {}) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
${extra.namespace ? `  namespace: ${extra.namespace}\n` : ''}  labels:
    app: ${name}
${Object.entries(extra.labels ?? {}).map(([k, v]) => `    ${k}: ${v}\n`).join('')}spec:
  replicas: ${extra.replicas ?? 2}
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
        - name: main
          image: ${extra.image ?? 'registry.example/web:1'}
`;

/** The CLI with a clean environment: no BERTH_SERVER, a HOME without ~/.berth/config. */
function cli(ctl: TestController, home: string) {
  return (args: string[], input?: string) => ctl.berth(args, { env: { HOME: home, BERTH_SERVER: '' }, ...(input !== undefined ? { input } : {}) });
}

t.test('apply: created, configured, unchanged (exit 3); dry runs store nothing', async (t) => {
  const dir = t.testdir({ 'web.yaml': deployment('web'), home: {}, 'controller-root': {} });
  const ctl = await startTestController(t, dir);
  const berth = cli(ctl, path.join(dir, 'home'));
  const file = path.join(dir, 'web.yaml');

  const created = berth(['apply', '-f', file]);
  t.equal(created.stdout, 'deployment.apps/web created\n', created.stderr);
  t.equal(created.status, 0);
  const again = berth(['apply', '-f', file]);
  t.equal(again.stdout, 'deployment.apps/web unchanged\n');
  t.equal(again.status, 3, 'nothing changed: the distinct exit status 3');

  fs.writeFileSync(file, deployment('web', { replicas: 4 }));
  const serverDry = berth(['apply', '-f', file, '--dry-run=server']);
  t.equal(serverDry.stdout, 'deployment.apps/web configured (server dry run)\n', serverDry.stderr);
  t.equal(serverDry.status, 0);
  t.match(berth(['get', 'deploy', 'web', '-o', 'json']).stdout, /"replicas": 2/, 'a server dry run stores nothing');
  const configured = berth(['apply', '-f', file]);
  t.equal(configured.stdout, 'deployment.apps/web configured\n');
  t.equal(configured.status, 0);
  t.match(berth(['get', 'deploy', 'web', '-o', 'json']).stdout, /"replicas": 4/);

  const other = path.join(dir, 'other.yaml');
  fs.writeFileSync(other, deployment('other'));
  const clientDry = berth(['apply', '-f', other, '--dry-run=client']);
  t.equal(clientDry.stdout, 'deployment.apps/other validated (dry run)\n', clientDry.stderr);
  t.equal(clientDry.status, 0);
  const newDry = berth(['apply', '-f', other, '--dry-run=server']);
  t.equal(newDry.stdout, 'deployment.apps/other created (server dry run)\n');
  const missing = berth(['get', 'deployment', 'other']);
  t.equal(missing.status, 1, 'neither dry run stored it');
  t.equal(missing.stderr, 'Error from server (NotFound): deployments.apps "other" not found\n');

  const fromStdin = berth(['apply', '-f', '-', '-o', 'name'], deployment('piped'));
  t.equal(fromStdin.stdout, 'deployment.apps/piped\n', fromStdin.stderr);
});

t.test('apply: every manifest error printed with file:line:col, nothing stored, exit 1', async (t) => {
  const dir = t.testdir({
    app: {
      'a.yaml': `${deployment('good')}---\n${deployment('bad').replace('replicas: 2', 'replicas: "two"')}`,
      'b.yaml': deployment('worse').replace('image: registry.example/web:1', 'image: 5'),
    },
    home: {},
    // The controller does not make its data root yet.
    'controller-root': {},
  });
  const ctl = await startTestController(t, dir);
  const berth = cli(ctl, path.join(dir, 'home'));
  const appDir = path.join(dir, 'app');
  const res = berth(['apply', '-f', appDir]);
  t.equal(res.status, 1);
  t.equal(res.stdout, '');
  t.equal(res.stderr, [
    `${appDir}/a.yaml:28:13: spec.replicas: must be an integer`,
    `${appDir}/b.yaml:19:18: spec.template.spec.containers[0].image: must be a string`,
    '',
  ].join('\n'));
  const list = berth(['get', 'deployments']);
  t.equal(list.stdout, '', 'the valid document was not applied either');
  t.equal(list.stderr, 'No resources found in default namespace.\n');
});

t.test('prune deletes exactly what this set applied and the files dropped', async (t) => {
  const dir = t.testdir({
    set: { 'a.yaml': deployment('a'), 'b.yaml': deployment('b') },
    elsewhere: { 'c.yaml': deployment('c') },
    'user.yaml': deployment('u'),
    'reborn.yaml': deployment('x'),
    home: {},
    // The controller does not make its data root yet.
    'controller-root': {},
  });
  const ctl = await startTestController(t, dir);
  const berth = cli(ctl, path.join(dir, 'home'));
  const set = path.join(dir, 'set');
  t.equal(berth(['apply', '-f', set]).status, 0);
  fs.writeFileSync(path.join(set, 'x.yaml'), deployment('x'));
  t.equal(berth(['apply', '-f', set]).stdout, 'deployment.apps/a unchanged\ndeployment.apps/b unchanged\ndeployment.apps/x created\n');
  t.equal(berth(['apply', '-f', path.join(dir, 'elsewhere')]).status, 0, 'another set makes c');
  t.equal(berth(['apply', '-f', '-', '--applyset', 'by-hand'], deployment('u')).status, 0, 'a user makes u');

  // x leaves the set's files, is deleted, and made again by someone else under the same name.
  fs.rmSync(path.join(set, 'x.yaml'));
  t.equal(berth(['delete', 'deployment', 'x']).stdout, 'deployment.apps "x" deleted\n');
  t.equal(berth(['apply', '-f', path.join(dir, 'reborn.yaml')]).status, 0);
  fs.rmSync(path.join(set, 'b.yaml'));

  const dry = berth(['apply', '-f', set, '--prune', '--dry-run=server']);
  t.equal(dry.stdout, 'deployment.apps/a unchanged (server dry run)\ndeployment.apps/b pruned (server dry run)\n', dry.stderr);
  t.equal(berth(['get', 'deploy', 'b', '-o', 'name']).stdout, 'deployment.apps/b\n', 'a dry run prunes nothing');

  const pruned = berth(['apply', '-f', set, '--prune']);
  t.equal(pruned.stdout, 'deployment.apps/a unchanged\ndeployment.apps/b pruned\n', pruned.stderr);
  t.equal(pruned.status, 0, 'a prune is a change');
  t.equal(berth(['get', 'deployments', '-o', 'name']).stdout, 'deployment.apps/a\ndeployment.apps/c\ndeployment.apps/u\ndeployment.apps/x\n',
    'c (another set), u (by hand) and the new x stay');
  const nothing = berth(['apply', '-f', set, '--prune']);
  t.equal(nothing.status, 3, 'nothing left to prune: unchanged');
});

t.test('get, describe, delete, scale, events', async (t) => {
  const dir = t.testdir({
    'app.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n${deployment('web', { namespace: 'shop', labels: { tier: 'front' } })}---\n${deployment('api', { namespace: 'shop', replicas: 1 })}`,
    home: {},
    // The controller does not make its data root yet.
    'controller-root': {},
  });
  const ctl = await startTestController(t, dir);
  const berth = cli(ctl, path.join(dir, 'home'));
  const applied = berth(['apply', '-f', path.join(dir, 'app.yaml')]);
  t.equal(applied.stdout, 'namespace/shop created\ndeployment.apps/web created\ndeployment.apps/api created\n', applied.stderr);

  const table = berth(['get', 'deploy', '-n', 'shop']);
  t.match(table.stdout, /^NAME {3}READY {3}UP-TO-DATE {3}AVAILABLE {3}AGE\napi {4}0\/1 {5}\d {12}0 {11}\d+s\nweb {4}0\/2 {5}\d {12}0 {11}\d+s\n$/);
  const all = berth(['get', 'deployments', '-A', '--show-labels']);
  t.match(all.stdout, /^NAMESPACE +NAME +READY +UP-TO-DATE +AVAILABLE +AGE +LABELS\nshop +api +.*app=api\nshop +web +.*app=web,tier=front\n$/);
  t.equal(berth(['get', 'deploy', '-n', 'shop', '-l', 'tier=front', '-o', 'name']).stdout, 'deployment.apps/web\n', 'a label selector');

  const yaml = berth(['get', 'deployment', 'web', '-n', 'shop', '-o', 'yaml']);
  t.match(yaml.stdout, /^apiVersion: apps\/v1\nkind: Deployment\nmetadata:\n/);
  t.match(yaml.stdout, /\n {2}namespace: shop\n/);
  const json = JSON.parse(berth(['get', 'deploy', '-n', 'shop', '-o', 'json']).stdout) as { kind: string; items: Array<{ metadata: { name: string } }> };
  t.equal(json.kind, 'List');
  t.same(json.items.map((i) => i.metadata.name), ['api', 'web']);
  const missing = berth(['get', 'pods', 'nope', '-n', 'shop']);
  t.equal(missing.status, 1);
  t.equal(missing.stderr, 'Error from server (NotFound): pods "nope" not found\n');
  t.equal(berth(['get', 'pods', 'nope', '--ignore-not-found']).status, 0);
  t.equal(berth(['get', 'widgets']).stderr, 'error: the server doesn\'t have a resource type "widgets"\n');
  t.match(berth(['get', 'ns']).stdout, /\nshop +Active +\d+s\n/);

  const described = berth(['describe', 'deployment', 'web', '-n', 'shop']);
  t.equal(described.status, 0, described.stderr);
  t.match(described.stdout, /^Name: +web\nNamespace: +shop\n/);
  t.match(described.stdout, /\nReplicas: +2 desired \| \d+ updated \| \d+ total \| \d+ available \| \d+ unavailable\n/);
  t.match(described.stdout, /\nEvents:/);

  const scaled = berth(['scale', 'deployment/web', '--replicas=5', '-n', 'shop']);
  t.equal(scaled.stdout, 'deployment.apps/web scaled\n', scaled.stderr);
  t.match(berth(['get', 'deploy', 'web', '-n', 'shop']).stdout, /\nweb +\d\/5 /);
  t.equal(berth(['scale', 'deploy', 'web', '--replicas=1', '--current-replicas=3', '-n', 'shop']).stderr, 'error: Expected replicas to be 3, was 5\n');
  t.equal(berth(['scale', 'deploy/web', '-n', 'shop']).stderr, 'error: required flag(s) "replicas" not set (berth scale deployment/NAME --replicas=N)\n');

  t.equal(berth(['events', '-n', 'shop', '--for', 'deployment/web']).status, 0);

  const deleted = berth(['delete', 'deploy', 'api', 'web', '-n', 'shop']);
  t.equal(deleted.stdout, 'deployment.apps "api" deleted\ndeployment.apps "web" deleted\n', deleted.stderr);
  const again = berth(['delete', 'deploy', 'api', '-n', 'shop']);
  t.equal(again.status, 1);
  t.equal(again.stderr, 'Error from server (NotFound): deployments.apps "api" not found\n');
  fs.writeFileSync(path.join(dir, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n');
  t.equal(berth(['delete', '-f', path.join(dir, 'ns.yaml')]).stdout, 'namespace "shop" deleted\n');
});

t.test('diff: a server dry run against the live objects; logs and diff stay the node\'s without a controller', async (t) => {
  const dir = t.testdir({ 'web.yaml': deployment('web'), home: {}, 'controller-root': {} });
  const ctl = await startTestController(t, dir);
  const home = path.join(dir, 'home');
  const berth = cli(ctl, home);
  const file = path.join(dir, 'web.yaml');
  const before = berth(['diff', '-f', file]);
  t.equal(before.status, 1, 'differences: exit 1');
  t.match(before.stdout, /^diff -u -N LIVE\/apps\.v1\.Deployment\.default\.web MERGED\/apps\.v1\.Deployment\.default\.web\n--- LIVE\/.*\n\+\+\+ MERGED\/.*\n@@ -0,0 \+1,\d+ @@\n\+apiVersion: apps\/v1\n/);
  t.equal(berth(['apply', '-f', file]).status, 0);
  const same = berth(['diff', '-f', file]);
  t.same([same.status, same.stdout], [0, ''], 'no differences: exit 0');
  fs.writeFileSync(file, deployment('web', { image: 'registry.example/web:2' }));
  const changed = berth(['diff', '-f', file]);
  t.equal(changed.status, 1);
  t.match(changed.stdout, /\n- +- image: registry\.example\/web:1\n\+ +- image: registry\.example\/web:2\n/);
  fs.writeFileSync(path.join(dir, 'bad.yaml'), 'kind: Deployment\n');
  const bad = berth(['diff', '-f', path.join(dir, 'bad.yaml')]);
  t.equal(bad.status, 2, 'an error: exit 2');

  // The same verbs without any controller configured: docker's meaning, asking the agent.
  const node = runCli(['--agent', path.join(dir, 'no.sock'), 'diff', 'some-container'], { env: { HOME: home, BERTH_SERVER: '' } });
  t.equal(node.status, 1);
  t.match(node.stderr, /^Error: cannot reach the agent/);
  const logs = runCli(['--agent', path.join(dir, 'no.sock'), 'logs', 'some-container'], { env: { HOME: home, BERTH_SERVER: '' } });
  t.match(logs.stderr, /^Error: cannot reach the agent/, 'logs too');
  const viaEnv = runCli(['diff', '-f', file], { env: { HOME: home, BERTH_SERVER: '', BERTH_CONFIG: ctl.kubeconfig } });
  t.equal(viaEnv.status, 1, 'BERTH_CONFIG names a kubeconfig: diff is the cluster\'s');
  t.match(viaEnv.stdout, /^diff -u -N LIVE/);
  fs.mkdirSync(path.join(home, '.berth'));
  fs.copyFileSync(ctl.kubeconfig, path.join(home, '.berth', 'config'));
  const configured = runCli(['diff', '-f', file], { env: { HOME: home, BERTH_SERVER: '' } });
  t.equal(configured.status, 1, 'with the admin kubeconfig as ~/.berth/config, diff is the cluster\'s');
  t.match(configured.stdout, /^diff -u -N LIVE/);
  fs.writeFileSync(path.join(home, '.berth', 'config'), `server: ${ctl.address}\n`);
  const legacy = runCli(['diff', '-f', file], { env: { HOME: home, BERTH_SERVER: '' } });
  t.equal(legacy.status, 2, 'the older one-line config still names the controller, but carries no credentials');
  t.match(legacy.stderr, /^error: no credentials for the controller at 127\.0\.0\.1:\d+: .*config has no kubeconfig context \(copy the controller's <data-root>\/admin\.kubeconfig to ~\/\.berth\/config/);
});

t.test('apply --wait fails fast on an unschedulable pod; rollout status, pause, resume, restart', async (t) => {
  const dir = t.testdir({ 'web.yaml': deployment('web'), 'none.yaml': deployment('none', { replicas: 0 }), home: {}, 'controller-root': {} });
  const ctl = await startTestController(t, dir);
  const berth = cli(ctl, path.join(dir, 'home'));
  const started = Date.now();
  const waited = berth(['apply', '-f', path.join(dir, 'web.yaml'), '--wait=2m']);
  t.equal(waited.status, 1);
  // Whether a progress line comes first depends on how soon the scheduler has marked the pod.
  t.match(waited.stdout, /^deployment\.apps\/web created\n/);
  // No agent has registered a node: the scheduler says so on the pod, and the wait ends there.
  t.match(waited.stderr, /^error: deployment\/web: pod web-[a-z0-9]+-[a-z0-9]+: Unschedulable: .*no nodes/);
  t.ok(Date.now() - started < 30_000, 'long before the wait\'s own timeout');
  const pods = berth(['get', 'pods']);
  t.match(pods.stdout, /^NAME +READY +STATUS +RESTARTS +AGE\nweb-[a-z0-9]+-[a-z0-9]+ +0\/1 +Pending +0 +\d+s\n/);
  const pod = berth(['get', 'pods', '-o', 'name']).stdout.split('\n')[0]!;
  const described = berth(['describe', pod]);
  t.match(described.stdout, /\nControlled By: +ReplicaSet\/web-[a-z0-9]+\n/);
  t.match(described.stdout, /\nConditions:\n  Type +Status\n  PodScheduled +False\n/);
  t.match(described.stdout, /\nEvents:\n  Type +Reason +Age +From +Message\n  -.*\n  Warning +FailedScheduling +.*no nodes/, 'the scheduler\'s event about this pod');
  const events = berth(['events', '--types', 'Warning']);
  t.match(events.stdout, /^LAST SEEN +TYPE +REASON +OBJECT +MESSAGE\n(.*\n)*\S+ +Warning +FailedScheduling +pod\/web-[a-z0-9-]+ +.*no nodes/);
  t.equal(berth(['events', '--types', 'Normal', '--for', pod]).stderr, 'No events found in default namespace.\n');
  const nothing = berth(['apply', '-f', path.join(dir, 'none.yaml'), '--wait']);
  t.equal(nothing.status, 0, nothing.stderr);
  t.match(nothing.stdout, /^deployment\.apps\/none created\n(.*\n)*deployment "none" successfully rolled out\n$/);

  const status = berth(['rollout', 'status', 'deployment/web', '--timeout=1s']);
  t.equal(status.status, 1);
  t.equal(status.stderr, 'error: timed out waiting for the condition\n');
  t.match(status.stdout, /^Waiting for /);
  t.equal(berth(['rollout', 'status', 'deployment/nope']).stderr, 'Error from server (NotFound): deployments.apps "nope" not found\n');

  t.equal(berth(['rollout', 'pause', 'deployment/web']).stdout, 'deployment.apps/web paused\n');
  t.equal(berth(['rollout', 'pause', 'deployment/web']).stderr, 'error: deployments.apps "web" is already paused\n');
  t.equal(berth(['rollout', 'restart', 'deployment/web']).stderr, 'error: can\'t restart paused deployment (run rollout resume first)\n');
  t.equal(berth(['rollout', 'resume', 'deployment/web']).stdout, 'deployment.apps/web resumed\n');
  t.equal(berth(['rollout', 'restart', 'deploy/web']).stdout, 'deployment.apps/web restarted\n');
  const template = JSON.parse(berth(['get', 'deploy', 'web', '-o', 'json']).stdout) as { spec: { template: { metadata: { annotations: Record<string, string> } } } };
  t.match(template.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.equal(berth(['rollout', 'bounce', 'deploy/web']).stderr, 'error: unknown rollout command "bounce" (berth rollout status|history|undo|pause|resume|restart deployment/NAME)\n');
});

t.test('logs: a pod not on a node yet is refused in kubectl\'s words', async (t) => {
  const dir = t.testdir({ 'web.yaml': deployment('web'), home: {}, 'controller-root': {} });
  const ctl = await startTestController(t, dir);
  const env = { HOME: path.join(dir, 'home'), BERTH_SERVER: '' };
  t.equal(ctl.berth(['apply', '-f', path.join(dir, 'web.yaml')], { env }).status, 0);
  let pod = '';
  for (const deadline = Date.now() + 10_000; !pod && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    pod = ctl.berth(['get', 'pods', '-o', 'name'], { env }).stdout.split('\n')[0]!;
  }
  // Bounded: a call that never ends must fail this test, not hang it.
  const within = (args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, '--kubeconfig', ctl.kubeconfig, '--server', ctl.address, ...args], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, ...env } });
    return { status: r.status, stderr: r.stderr };
  };
  const logs = within(['logs', pod]);
  t.equal(logs.status, 1);
  t.match(logs.stderr, /^Error from server \(BadRequest\): pod "web-[a-z0-9-]+" is not scheduled to a node yet/);
  const viaDeployment = within(['logs', 'deployment/web']);
  t.match(viaDeployment.stderr, /^Found 2 pods, using pod\/web-[a-z0-9-]+\nError from server \(BadRequest\): pod "web-/);
});

t.test('rollout history and undo over the ReplicaSets the deployment controller makes', async (t) => {
  const dir = t.testdir({ 'web.yaml': deployment('web'), home: {}, 'controller-root': {} });
  const ctl = await startTestController(t, dir);
  const berth = cli(ctl, path.join(dir, 'home'));
  const file = path.join(dir, 'web.yaml');
  t.equal(berth(['apply', '-f', file]).status, 0);
  const revisionCount = async (n: number) => {
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      const rows = berth(['rollout', 'history', 'deployment/web']).stdout.trim().split('\n').slice(2);
      if (rows.length >= n) return true;
    }
    return false;
  };
  if (!(await revisionCount(1))) {
    t.comment('SKIPPED: the controller made no ReplicaSet for the Deployment (no deployment controller yet)');
    return;
  }
  fs.writeFileSync(file, deployment('web', { image: 'registry.example/web:2' }));
  t.equal(berth(['apply', '-f', file]).status, 0);
  t.ok(await revisionCount(2), 'a second revision');
  t.match(berth(['rollout', 'history', 'deployment/web']).stdout, /^deployment\.apps\/web\nREVISION {2}CHANGE-CAUSE\n1 +<none>\n2 +<none>\n\n$/);
  t.match(berth(['rollout', 'history', 'deployment/web', '--revision', '1']).stdout, /^deployment\.apps\/web with revision #1\nPod Template:\n[^]*Image: +registry\.example\/web:1\n/);
  const undo = berth(['rollout', 'undo', 'deployment/web']);
  t.equal(undo.stdout, 'deployment.apps/web rolled back\n', undo.stderr);
  const image = () => (JSON.parse(berth(['get', 'deploy', 'web', '-o', 'json']).stdout) as { spec: { template: { spec: { containers: Array<{ image: string }> } } } }).spec.template.spec.containers[0]!.image;
  t.equal(image(), 'registry.example/web:1');
  t.match(berth(['rollout', 'undo', 'deployment/web', '--to-revision', '9']).stderr, /^error: unable to find specified revision 9 in history\n/);
});

/** A CLI process whose output can be awaited line by line while it runs. */
function runLive(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  return {
    child,
    output: () => stdout,
    errors: () => stderr,
    async waitFor(pattern: RegExp, what: string): Promise<void> {
      for (const deadline = Date.now() + 15_000; !pattern.test(stdout);) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${what}: not seen in ${JSON.stringify(stdout)} (stderr ${JSON.stringify(stderr)})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async interrupt(): Promise<number> {
      child.kill('SIGINT');
      return exited;
    },
  };
}

t.test('apply --watch re-applies on change and prunes a deleted file\'s objects; get -w follows', async (t) => {
  const dir = t.testdir({ app: { 'a.yaml': deployment('a'), 'b.yaml': deployment('b') }, home: {}, 'controller-root': {} });
  const ctl = await startTestController(t, dir);
  const env = { HOME: path.join(dir, 'home'), BERTH_SERVER: '' };
  const app = path.join(dir, 'app');
  const watch = runLive(['--kubeconfig', ctl.kubeconfig, '--server', ctl.address, 'apply', '-f', app, '--watch'], env);
  t.teardown(() => void watch.child.kill('SIGKILL'));
  const get = runLive(['--kubeconfig', ctl.kubeconfig, '--server', ctl.address, 'get', 'deployments', '-w'], env);
  t.teardown(() => void get.child.kill('SIGKILL'));
  await watch.waitFor(/watching .* for changes/, 'the first apply and the watch');
  t.match(watch.output(), /^deployment\.apps\/a created\ndeployment\.apps\/b created\n/);
  await get.waitFor(/^NAME +READY +UP-TO-DATE +AVAILABLE +AGE\na +0\/2 .*\nb +0\/2 /, 'the table');

  fs.writeFileSync(path.join(app, 'a.yaml'), deployment('a', { replicas: 3 }));
  await watch.waitFor(/a\.yaml changed: applying\ndeployment\.apps\/a configured\n/, 'the re-apply of a change');
  await get.waitFor(/\na +0\/3 /, 'get -w printing the change');

  fs.rmSync(path.join(app, 'b.yaml'));
  await watch.waitFor(/b\.yaml removed: applying\ndeployment\.apps\/b pruned\n/, 'the prune of a removed file');

  fs.writeFileSync(path.join(app, 'c.yaml'), 'kind: Deployment\n');
  await watch.waitFor(/c\.yaml added: applying\nnothing applied; waiting for the next change\n/, 'errors reported, the watch goes on');
  // stderr is a stream of its own: its line may come a moment after stdout's.
  t.match(await eventually('the error line', () => (/\/app\/c\.yaml:1:1: apiVersion: is required\n/.test(watch.errors()) ? watch.errors() : undefined), 10_000, 50),
    /\/app\/c\.yaml:1:1: apiVersion: is required\n/);

  t.equal(await watch.interrupt(), 0, 'SIGINT ends apply --watch');
  t.equal(await get.interrupt(), 0, 'SIGINT ends get -w');
  t.equal(ctl.berth(['get', 'deploy', '-o', 'name']).stdout, 'deployment.apps/a\n');
});
