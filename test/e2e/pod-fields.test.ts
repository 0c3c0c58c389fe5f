// Pod fields on a real agent: supplementalGroupsPolicy Strict leaves out the groups the image's
// /etc/group gives the user (Merge keeps them), and a read-only volume with recursiveReadOnly is
// read-only below its submounts too, where a plain readOnly one is not.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import t from 'tap';
import type { Pod } from '../../proto/resources';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

const layer = [
  { path: 'etc', type: 'dir' as const },
  { path: 'etc/passwd', type: 'file' as const, content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' },
  { path: 'etc/group', type: 'file' as const, content: 'root:x:0:\napp:x:1000:\naudio:x:29:app\n' },
];

const pod = (name: string, policy: 'Merge' | 'Strict', dir: string, script: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: fields}
spec:
  restartPolicy: Never
  securityContext: {runAsUser: 1000, supplementalGroups: [4000], supplementalGroupsPolicy: ${policy}}
  volumes: [{name: data, hostPath: {path: ${dir}, type: Directory}}]
  containers:
  - name: main
    image: IMAGE
    command: [sh, -c, ${JSON.stringify(script)}]
    volumeMounts:
    - {name: data, mountPath: /ro, readOnly: true}
    - {name: data, mountPath: /rro, readOnly: true, recursiveReadOnly: Enabled}
`;

t.test('supplementalGroupsPolicy and recursiveReadOnly', async (t) => {
  const { image, berth, file, dir } = await startOneNodeCluster(t, 'fields:1', layer);
  // A writable tmpfs mounted inside the volume's directory: what a recursive read-only mount must cover.
  const data = path.join(dir, 'data');
  fs.mkdirSync(path.join(data, 'sub'), { recursive: true });
  t.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'bt-fields', path.join(data, 'sub')]).status, 0, 'tmpfs mounted');
  t.teardown(() => void spawnSync('umount', ['-l', path.join(data, 'sub')]));
  // The root user's test directory must be readable by uid 1000 for the hostPath.
  for (let d = data; d !== path.dirname(d); d = path.dirname(d)) fs.chmodSync(d, fs.statSync(d).mode | 0o005);
  fs.chmodSync(path.join(data, 'sub'), 0o777);

  const script = 'id -G; touch /ro/sub/x && echo ro-sub-writable; touch /rro/sub/y && echo rro-sub-writable; true';
  const manifest = `apiVersion: v1
kind: Namespace
metadata: {name: fields, labels: {pod-security.kubernetes.io/enforce: privileged}}
---
${pod('merge', 'Merge', data, script)}---
${pod('strict', 'Strict', data, script)}`.replaceAll('IMAGE', image);
  const applied = berth(['apply', '-f', file('pods.yaml', manifest)]);
  t.equal(applied.status, 0, applied.stderr);
  for (const name of ['merge', 'strict']) {
    await eventually(`${name} to finish`, () => (JSON.parse(berth(['get', 'pod', name, '-n', 'fields', '-o', 'json']).stdout) as Pod).status?.phase === 'Succeeded', 120_000, 300);
  }
  const logs = (name: string) => berth(['logs', name, '-n', 'fields']).stdout.trim().split('\n');
  const [mergeGroups, ...mergeRest] = logs('merge');
  const [strictGroups, ...strictRest] = logs('strict');
  t.same(mergeGroups!.split(' ').map(Number).sort((a, b) => a - b), [29, 1000, 4000], 'Merge: the image\'s audio group, the user\'s own and the pod\'s');
  t.same(strictGroups!.split(' ').map(Number).sort((a, b) => a - b), [1000, 4000], 'Strict: without the image\'s groups');
  const expected = ['ro-sub-writable', 'touch: /rro/sub/y: Read-only file system'];
  t.same(mergeRest, expected, 'readOnly alone leaves a submount writable; recursiveReadOnly makes it read-only too');
  t.same(strictRest, expected);
  t.ok(fs.existsSync(path.join(data, 'sub', 'x')), 'the write went through the plain read-only mount');
  t.notOk(fs.existsSync(path.join(data, 'sub', 'y')), 'nothing through the recursive one');
  t.equal(berth(['delete', 'namespace', 'fields']).status, 0);
});
