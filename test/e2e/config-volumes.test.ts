// The first "done means": a web app reading a ConfigMap and a Secret, as env and as files,
// that sees an updated ConfigMap without a restart, on a real controller and agent. Also: an
// emptyDir shared by two containers, a memory emptyDir of sizeLimit, the downward API as files, a
// subPath, fsGroup; a volume whose ConfigMap does not exist keeps the pod ContainerCreating with
// the kubelet's FailedMount event until it does; the Secret is never on the agent's disk; a
// deleted pod leaves no mount and no directory.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { linuxHostMounts } from '../../agent/node/host-mounts';
import type { Pod } from '../../proto/resources';
import type { LayerEntry } from '../fixtures/images';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

const config = (page: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: site}
data:
  index.html: "${page}"
  greeting: hello
---
apiVersion: v1
kind: Secret
metadata: {name: db}
stringData: {password: pw-4b1d9e}
`;

const web = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      terminationGracePeriodSeconds: 1
      securityContext: {fsGroup: 3000}
      containers:
        - name: httpd
          image: ${image}
          command: [httpd, -f, -p, "8080", -h, /www]
          env:
            - {name: GREETING, valueFrom: {configMapKeyRef: {name: site, key: greeting}}}
          readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1}
          volumeMounts:
            - {name: site, mountPath: /www}
            - {name: db, mountPath: /etc/db}
            - {name: cache, mountPath: /cache}
            - {name: shared, mountPath: /shared}
            - {name: site, mountPath: /etc/greeting, subPath: greeting}
            - {name: info, mountPath: /etc/podinfo}
        - name: writer
          image: ${image}
          command: [sh, -c, "echo from-writer > /out/note && sleep 3600"]
          volumeMounts: [{name: shared, mountPath: /out}]
      volumes:
        - {name: site, configMap: {name: site}}
        - {name: db, secret: {secretName: db, defaultMode: 0400}}
        - {name: cache, emptyDir: {medium: Memory, sizeLimit: 1Mi}}
        - {name: shared, emptyDir: {}}
        - name: info
          downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}
`;

const orphan = (image: string) => `apiVersion: v1
kind: Pod
metadata: {name: waits-for-config}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: main, image: ${image}, command: [sleep, "3600"], volumeMounts: [{name: conf, mountPath: /conf}]}]
  volumes: [{name: conf, configMap: {name: later}}]
`;

/** Every regular file below `dir` on the same filesystem (tmpfs mounts are not the disk), whose bytes contain `needle`. */
function filesOnDiskContaining(dir: string, needle: string): string[] {
  const device = fs.statSync(dir).dev;
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      const st = fs.lstatSync(p);
      if (st.dev !== device) continue;
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile() && fs.readFileSync(p).includes(needle)) found.push(p);
    }
  };
  walk(dir);
  return found;
}

t.test('a web app on a ConfigMap and a Secret, as env and files, updated in place', async (t) => {
  const layer: LayerEntry[] = [{ path: 'bin/httpd', type: 'symlink', linkname: 'busybox' }, { path: 'bin/dd', type: 'symlink', linkname: 'busybox' }, { path: 'www', type: 'dir' }];
  const { image, agent, berth, file, dir } = await startOneNodeCluster(t, 'web:1', layer);

  t.equal(berth(['apply', '-f', file('config.yaml', config('v1'))]).status, 0);
  const applied = berth(['apply', '-f', file('web.yaml', web(image)), '--wait=2m']);
  t.equal(applied.status, 0, `${applied.stderr} ${berth(['describe', 'pods']).stdout}`);
  const id = (container: string) => agent.berth(['ps', '-q', '--filter', 'label=io.kubernetes.pod.name', '--filter', `label=io.kubernetes.container.name=${container}`]).stdout.trim();
  const httpd = id('httpd');
  const exec = (...args: string[]) => agent.berth(['exec', httpd, ...args]);

  t.equal(exec('cat', '/www/index.html').stdout, 'v1', 'a ConfigMap key as a file');
  t.match(exec('env').stdout, /\nGREETING=hello\n/, 'and as env');
  t.equal(exec('cat', '/etc/greeting').stdout, 'hello', 'a subPath: one key as one file');
  t.equal(exec('cat', '/etc/db/password').stdout, 'pw-4b1d9e', 'a Secret key as a file');
  t.match(exec('ls', '-l', '/etc/db/..data/password').stdout, /^-r-------- /, 'with its defaultMode');
  const readOnly = exec('sh', '-c', 'echo x > /etc/db/password');
  t.not(readOnly.status, 0, 'secret volumes are read-only');
  t.equal(await eventually('the writer wrote', () => exec('cat', '/shared/note').stdout || undefined, 20_000, 200), 'from-writer\n', 'one emptyDir, two containers');
  t.equal(exec('sh', '-c', 'dd if=/dev/zero of=/cache/big bs=1024 count=2048 2>&1; echo rc=$?').stdout.includes('rc=0'), false, 'the memory emptyDir holds no more than sizeLimit');
  t.match(exec('cat', '/etc/podinfo/labels').stdout, /app="web"/, 'the downward API as files');
  t.match(exec('id').stdout, /groups=.*3000/, 'fsGroup is a supplementary group');
  t.match(exec('ls', '-ldn', '/shared').stdout, /^drwxrwsrwx\s+\d+\s+0\s+3000\s/, 'an emptyDir owned by the fsGroup, setgid');

  t.same(filesOnDiskContaining(agent.dataRoot, 'pw-4b1d9e'), [], "the Secret is nowhere on the agent's disk");

  // The update reaches the running container: no restart, no new container.
  t.equal(berth(['apply', '-f', file('config.yaml', config('v2'))]).status, 0);
  await eventually('the new page served', () => exec('cat', '/www/index.html').stdout === 'v2', 60_000, 500);
  t.equal(id('httpd'), httpd, 'the same container');
  const pod = (JSON.parse(berth(['get', 'pods', '-l', 'app=web', '-o', 'json']).stdout) as { items: Pod[] }).items[0]!;
  t.equal(pod.status?.containerStatuses?.find((c) => c.name === 'httpd')?.restartCount, 0, 'not restarted');
  t.equal(exec('cat', '/etc/greeting').stdout, 'hello');

  // A volume's ConfigMap that does not exist yet: ContainerCreating and FailedMount, until it does.
  t.equal(berth(['apply', '-f', file('orphan.yaml', orphan(image))]).status, 0);
  await eventually('a FailedMount event', () => /FailedMount.*MountVolume\.SetUp failed for volume "conf" : configmap "later" not found/.test(berth(['get', 'events']).stdout), 60_000, 300);
  t.match(berth(['get', 'pod', 'waits-for-config']).stdout, /ContainerCreating/);
  t.equal(berth(['create', 'configmap', 'later', '--from-literal', 'k=v']).status, 0);
  await eventually('Running once the ConfigMap exists', () => (JSON.parse(berth(['get', 'pod', 'waits-for-config', '-o', 'json']).stdout) as Pod).status?.phase === 'Running', 90_000, 500);

  t.equal(berth(['delete', '-f', path.join(dir, 'web.yaml'), '-f', path.join(dir, 'orphan.yaml')]).status, 0);
  await eventually('no pod containers left', () => agent.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
  await eventually('no pod directory left', () => fs.readdirSync(path.join(agent.dataRoot, 'pods')).length === 0, 30_000, 200);
  t.same(linuxHostMounts.mountsUnder(path.join(agent.dataRoot, 'pods')), [], 'no volume stays mounted');
  await agent.stop();
});
