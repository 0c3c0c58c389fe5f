// Generic ephemeral volumes on a real agent: a pod's `ephemeral` volume gets its claim
// (<pod>-<volume>, owned by the pod) from the template, bound by the local-path provisioner on the
// pod's node and mounted; the pod's data lands in that volume's directory; deleting the pod takes
// the claim and its volume with it. A claim of that name the pod does not own is not taken over:
// the pod waits, in Kubernetes' words.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { PersistentVolume, PersistentVolumeClaim, Pod } from '../../proto/resources';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

const pod = (name: string, image: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${image}
    command: [sh, -c, "echo kept > /scratch/note; cat /scratch/note; exec sleep 3600"]
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  volumes:
  - name: scratch
    ephemeral:
      volumeClaimTemplate:
        metadata: {labels: {type: scratch}}
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 16Mi}}
`;

t.test('a generic ephemeral volume lives and goes with its pod', async (t) => {
  const { image, berth, file, agent } = await startOneNodeCluster(t, 'tool:1');
  const json = <T>(args: string[]) => JSON.parse(berth([...args, '-o', 'json']).stdout) as T;

  t.equal(berth(['apply', '-f', file('scratch.yaml', pod('scratch', image))]).status, 0);
  const running = await eventually('the pod running', () => {
    const p = json<Pod>(['get', 'pod', 'scratch']);
    return p.status?.phase === 'Running' ? p : undefined;
  }, 90_000, 300);
  const claim = json<PersistentVolumeClaim>(['get', 'pvc', 'scratch-scratch']);
  t.match(claim, {
    metadata: { labels: { type: 'scratch' }, ownerReferences: [{ kind: 'Pod', name: 'scratch', uid: running.metadata.uid, controller: true }] },
    spec: { storageClassName: 'local-path', volumeName: /^pvc-/ },
    status: { phase: 'Bound' },
  }, 'the claim made for the pod, owned by it, bound');
  const pv = json<PersistentVolume>(['get', 'pv', claim.spec.volumeName!]);
  const dir = pv.spec.hostPath!.path;
  await eventually('the pod wrote into its volume', () => (berth(['logs', 'scratch']).stdout === 'kept\n' ? true : undefined), 30_000, 300);
  t.equal(fs.readFileSync(path.join(dir, 'note'), 'utf8'), 'kept\n', 'the data is in the local-path volume\'s directory on the node');

  t.equal(berth(['delete', 'pod', 'scratch']).status, 0);
  await eventually('the claim gone with its pod', () => berth(['get', 'pvc', 'scratch-scratch']).status === 1, 60_000, 300);
  await eventually('its volume and directory gone', () => berth(['get', 'pv', pv.metadata.name!]).status === 1 && !fs.existsSync(dir), 60_000, 300);
  t.pass('claim, volume and directory removed');

  // A claim of the name, made by someone else: the pod waits and is told why.
  t.equal(berth(['apply', '-f', file('taken.yaml', `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: taken-scratch}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 16Mi}}
`)]).status, 0);
  t.equal(berth(['apply', '-f', file('taken-pod.yaml', pod('taken', image))]).status, 0);
  const waiting = await eventually('the pod unschedulable', () => {
    const p = json<Pod>(['get', 'pod', 'taken']);
    return p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False') ? p : undefined;
  }, 30_000, 300);
  t.match(waiting.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message, /PVC default\/taken-scratch was not created for pod default\/taken \(pod is not owner\)/);
  t.match(berth(['get', 'events']).stdout, /FailedBinding\s+pod\/taken\s+PVC default\/taken-scratch was not created for pod default\/taken \(pod is not owner\)/);
  t.equal(berth(['delete', 'pod', 'taken']).status, 0);
  t.equal(berth(['get', 'pvc', 'taken-scratch']).status, 0, 'the claim it did not own stays');
  t.equal(berth(['delete', 'pvc', 'taken-scratch']).status, 0);
  await eventually('no containers left', () => agent.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
});
