// kubectl's Service verbs on a one-node cluster (a real controller and agent on this host):
// `berth expose` makes the Service a Deployment's pods need (and says why when it cannot); a pod
// made afterwards gets the Service's variables, the cluster resolv.conf, the downward API's fields
// and a ConfigMap's and a Secret's keys (read through the controller, which lets a node read only
// what its pods name), and a missing key keeps its container in CreateContainerConfigError until
// it exists; `berth port-forward` carries local connections to a pod's port through the controller
// and the agent's tunnel, for a pod and for a Service's port.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { Pod, Service } from '../../proto/resources';
import { CLI, makeTestHost, startTestAgent } from '../fixtures/agent';
import { startTestController } from '../fixtures/controller';
import { buildImage, busyboxLayer, pushImage, type LayerEntry } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { eventually } from '../fixtures/wait';

const web = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: httpd
          image: ${image}
          command: [httpd, -f, -p, "8080", -h, /www]
          ports: [{name: http, containerPort: 8080}]
          readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: picky}
spec:
  selector: {matchExpressions: [{key: app, operator: In, values: [picky]}]}
  template:
    metadata: {labels: {app: picky}}
    spec: {containers: [{name: main, image: ${image}, command: [sleep, "3600"]}]}
`;

const client = (image: string) => `apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${image}
      command: [sleep, "3600"]
      env:
        - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        - {name: MY_NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
        - {name: WEB_URL, value: "http://$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT)/"}
        - {name: MODE, valueFrom: {configMapKeyRef: {name: app, key: mode}}}
        - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
      envFrom:
        - {prefix: APP_, configMapRef: {name: app}}
---
apiVersion: v1
kind: Pod
metadata: {name: waiter}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${image}
      command: [sleep, "3600"]
      env:
        - {name: LATER, valueFrom: {configMapKeyRef: {name: app, key: later}}}
`;

const config = `apiVersion: v1
kind: ConfigMap
metadata: {name: app}
data: {mode: fast, color: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: db}
stringData: {password: s3cret}
`;

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.end('GET / HTTP/1.0\r\n\r\n'));
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(data));
  });
}

/** Start `berth port-forward ...` and wait for its "Forwarding from" line; killed at teardown. */
async function portForward(t: Test, args: string[]): Promise<{ port: number; remote: number; output: () => string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  t.teardown(() => void child.kill('SIGKILL'));
  const m = await eventually('port-forward listening', () => /Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/.exec(output) ?? (child.exitCode !== null ? Promise.reject(new Error(output)) : undefined), 20_000, 100);
  return { port: Number(m[1]), remote: Number(m[2]), output: () => output };
}

t.test('expose, then port-forward to the pod and to the Service', async (t) => {
  const host = makeTestHost(t);
  const dir = t.testdir();
  const registry = await startRegistry(t);
  const layer: LayerEntry[] = [
    { path: 'bin/httpd', type: 'symlink', linkname: 'busybox' },
    { path: 'www', type: 'dir' },
    { path: 'www/index.html', type: 'file', content: 'hello through the tunnel\n' },
  ];
  await pushImage(registry.host, 'web:1', await buildImage({ layers: [busyboxLayer(), layer] }));
  const image = `${registry.host}/web:1`;
  const controller = await startTestController(t, dir);
  const agent = await startTestAgent(t, path.join(dir, 'agent'), ['--controller', controller.address, '--token', controller.token(), '--insecure-registry', registry.host], host);
  const berth = controller.berth;
  fs.writeFileSync(path.join(dir, 'web.yaml'), web(image));
  const applied = berth(['apply', '-f', path.join(dir, 'web.yaml'), '--wait=2m']);
  t.equal(applied.status, 0, `${applied.stderr} ${berth(['get', 'pods', '-o', 'wide']).stdout} ${berth(['describe', 'pods']).stdout}`);

  const exposed = berth(['expose', 'deployment/web', '--port', '80', '--target-port', 'http', '--type', 'NodePort']);
  t.equal(exposed.stdout, 'service/web exposed\n', exposed.stderr);
  const svc = JSON.parse(berth(['get', 'svc', 'web', '-o', 'json']).stdout) as Service;
  t.same(svc.spec.selector, { app: 'web' }, "the Deployment's selector");
  t.same(svc.spec.ports?.map((p) => [p.port, p.targetPort, p.protocol]), [[80, 'http', 'TCP']]);
  t.ok(svc.spec.ports?.[0]?.nodePort, 'a node port');
  const again = berth(['expose', 'deployment/web', '--port', '80']);
  t.equal(again.status, 1);
  t.match(again.stderr, /AlreadyExists.*services "web" already exists/);
  t.match(berth(['expose', 'deployment/picky', '--port', '80']).stderr, /couldn't retrieve selectors via --selector flag or introspection: the selector has matchExpressions/);
  t.match(berth(['expose', 'deployment/web', '--name', 'web2']).stdout, /service\/web2 exposed/, 'without --port: the pods\' declared port');
  t.same((JSON.parse(berth(['get', 'svc', 'web2', '-o', 'json']).stdout) as Service).spec.ports?.map((p) => p.port), [8080]);

  // A pod made after the Service: its variables and the cluster's resolv.conf.
  fs.writeFileSync(path.join(dir, 'config.yaml'), config);
  t.equal(berth(['apply', '-f', path.join(dir, 'config.yaml')]).status, 0);
  fs.writeFileSync(path.join(dir, 'client.yaml'), client(image));
  berth(['apply', '-f', path.join(dir, 'client.yaml')]);
  await eventually('the client Running', () => (JSON.parse(berth(['get', 'pod', 'client', '-o', 'json']).stdout) as Pod).status?.phase === 'Running', 60_000, 200);
  // A key that does not exist yet: the kubelet's CreateContainerConfigError until it does.
  const waiting = await eventually('the waiter in CreateContainerConfigError', () => {
    const w = (JSON.parse(berth(['get', 'pod', 'waiter', '-o', 'json']).stdout) as Pod).status?.containerStatuses?.[0]?.state?.waiting;
    return w?.reason === 'CreateContainerConfigError' ? w : undefined;
  }, 60_000, 200);
  t.equal(waiting.message, "couldn't find key later in ConfigMap default/app");
  t.match(berth(['get', 'pods']).stdout, /waiter\s+0\/1\s+CreateContainerConfigError/);
  fs.writeFileSync(path.join(dir, 'config.yaml'), config.replace('{mode: fast, color: blue}', '{mode: fast, color: blue, later: now}'));
  t.equal(berth(['apply', '-f', path.join(dir, 'config.yaml')]).status, 0);
  await eventually('the waiter Running once the key exists', () => (JSON.parse(berth(['get', 'pod', 'waiter', '-o', 'json']).stdout) as Pod).status?.phase === 'Running', 60_000, 300);
  const id = await eventually('the client container', () => agent.berth(['ps', '-q', '--filter', 'label=io.kubernetes.pod.name=client']).stdout.trim() || undefined, 30_000, 200);
  const env = agent.berth(['exec', id, 'env']).stdout;
  t.match(env, new RegExp(`WEB_SERVICE_HOST=${svc.spec.clusterIP!.replace(/\./g, '\\.')}\\n`));
  t.match(env, /WEB_SERVICE_PORT=80\n/);
  t.match(env, /WEB_PORT_80_TCP=tcp:\/\/\S+:80\n/);
  t.match(env, /KUBERNETES_SERVICE_HOST=/);
  t.match(env, /\nMODE=fast\n/, "a ConfigMap's key, read through the controller");
  t.match(env, /\nDB_PASSWORD=s3cret\n/, "a Secret's key, decoded");
  t.match(env, /\nAPP_color=blue\n/, 'envFrom with its prefix');
  const clientPod = JSON.parse(berth(['get', 'pod', 'client', '-o', 'json']).stdout) as Pod;
  t.match(env, new RegExp(`MY_IP=${clientPod.status!.podIP!.replace(/\./g, '\\.')}\n`), 'the downward API: the pod\'s own address');
  t.match(env, new RegExp(`MY_NODE=${clientPod.spec.nodeName}\n`));
  t.match(env, new RegExp(`WEB_URL=http://${svc.spec.clusterIP!.replace(/\./g, '\\.')}:80/\n`), '$(VAR) expanded from the Service variables');
  const resolv = agent.berth(['exec', id, 'cat', '/etc/resolv.conf']).stdout;
  t.match(resolv, /^nameserver 10\.\d+\.\d+\.1\nsearch default\.svc\.cluster\.local svc\.cluster\.local cluster\.local.*\noptions ndots:5\n$/, `resolv.conf: ${resolv}`);

  const pod = (JSON.parse(berth(['get', 'pods', '-l', 'app=web', '-o', 'json']).stdout) as { items: Pod[] }).items[0]!;
  const toPod = await portForward(t, ['--kubeconfig', controller.kubeconfig, 'port-forward', `pod/${pod.metadata.name}`, ':8080']);
  t.equal(toPod.remote, 8080);
  const viaPod = await get(toPod.port);
  t.match(viaPod, /^HTTP\/1\.[01] 200[\s\S]*hello through the tunnel/, `a pod's port through the controller and the agent: ${toPod.output()}`);
  t.match(toPod.output(), /Handling connection for/);
  const toService = await portForward(t, ['--kubeconfig', controller.kubeconfig, 'port-forward', 'svc/web', ':80']);
  t.equal(toService.remote, 8080, "the Service's port 80 is its target port on the pod");
  const answers = await Promise.all([get(toService.port), get(toService.port), get(toService.port)]);
  t.ok(answers.every((a) => a.includes('hello through the tunnel')), 'three connections at once');

  const bad = spawn(process.execPath, [CLI, '--kubeconfig', controller.kubeconfig, 'port-forward', 'svc/web', '70000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let badErr = '';
  bad.stderr.on('data', (d: Buffer) => (badErr += d.toString()));
  await new Promise((r) => bad.once('exit', r));
  t.match(badErr, /invalid port "70000"/);
  const noPort = spawn(process.execPath, [CLI, '--kubeconfig', controller.kubeconfig, 'port-forward', 'svc/web', '81'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let noPortErr = '';
  noPort.stderr.on('data', (d: Buffer) => (noPortErr += d.toString()));
  await new Promise((r) => noPort.once('exit', r));
  t.match(noPortErr, /Service web does not have a service port 81/);

  t.equal(berth(['delete', '-f', path.join(dir, 'web.yaml'), '-f', path.join(dir, 'client.yaml'), '-f', path.join(dir, 'config.yaml')]).status, 0);
  berth(['delete', 'svc', 'web', 'web2']);
  await eventually('no pod containers left', () => agent.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
  await agent.stop();
});
