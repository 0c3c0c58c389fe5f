// The chaos run's end checks catch each violation they name, and pass a cluster that is right.

import t from 'tap';
import {
  checkAcknowledgedApplies, checkConverged, checkPlacement, checkProbeExits,
  type HostObservation, type StoredPod,
} from './invariants';

const pod = (name: string, uid: string, nodeName: string, extra: Partial<StoredPod> = {}): StoredPod => ({
  name, uid, nodeName, phase: 'Running', deleting: false, deployment: 'web', version: 2, probe: false, ...extra,
});
const host = (node: string, running: Array<[string, string]>, extra: Partial<HostObservation> = {}): HostObservation => ({
  node,
  containers: running.map(([name, uid]) => ({ pod: name, uid, running: true })),
  cgroups: running.map(([, uid]) => uid),
  netns: running.map(([, uid]) => uid),
  ...extra,
});

t.test('acknowledged applies: the last acknowledged version, or a later attempted one', async (t) => {
  const attempts = [
    { deployment: 'web', version: 1, acknowledged: true },
    { deployment: 'web', version: 2, acknowledged: true },
    { deployment: 'web', version: 3, acknowledged: false },
  ];
  t.same(checkAcknowledgedApplies(attempts, [{ name: 'web', replicas: 2, version: 2 }]), []);
  t.same(checkAcknowledgedApplies(attempts, [{ name: 'web', replicas: 2, version: 3 }]), [], 'the unacknowledged apply may have landed');
  t.same(checkAcknowledgedApplies(attempts, [{ name: 'web', replicas: 2, version: 1 }]),
    ['deployment web: the store has version 1, older than the acknowledged version 2']);
  t.same(checkAcknowledgedApplies(attempts, [{ name: 'web', replicas: 2, version: 7 }]),
    ['deployment web: the store has version 7, which was never applied']);
  t.same(checkAcknowledgedApplies(attempts, []), ['deployment web: acknowledged version 2 but not in the store']);
});

t.test('converged: exactly the replicas, Running, on the current version, nothing else', async (t) => {
  const d = [{ name: 'web', replicas: 2, version: 2 }];
  t.same(checkConverged(d, [pod('a', 'u1', 'n1'), pod('b', 'u2', 'n2')]), []);
  t.same(checkConverged(d, [pod('a', 'u1', 'n1')]), ['deployment web: 1 of 2 replicas Running on version 2']);
  t.same(checkConverged(d, [pod('a', 'u1', 'n1'), pod('b', 'u2', 'n2'), pod('c', 'u3', 'n3', { version: 1 })]),
    ['deployment web: pod c is Running on version 1 (want version 2)']);
  t.same(checkConverged(d, [pod('a', 'u1', 'n1'), pod('b', 'u2', 'n2'), pod('c', 'u3', 'n3', { deleting: true })]),
    ['deployment web: pod c is terminating on version 2 (want version 2)']);
  t.same(checkConverged(d, [pod('a', 'u1', 'n1'), pod('b', 'u2', 'n2', { phase: 'Pending' })]), [
    'deployment web: 1 of 2 replicas Running on version 2',
    'deployment web: pod b is Pending on version 2 (want version 2)',
  ]);
});

t.test('placement: one host per pod, the bound one, no orphans, Running means running', async (t) => {
  const pods = [pod('a', 'u1', 'n1'), pod('b', 'u2', 'n2')];
  t.same(checkPlacement(pods, [host('n1', [['a', 'u1']]), host('n2', [['b', 'u2']])]), []);
  t.same(checkPlacement(pods, [host('n1', [['a', 'u1']]), host('n2', [['b', 'u2'], ['a', 'u1']])]), [
    'host n2: a container of pod a, which is bound to n1',
    'host n2: a cgroup of pod a, which is bound to n1',
    'host n2: a network namespace of pod a, which is bound to n1',
    'pod a: containers running on n1 and n2',
  ]);
  t.same(checkPlacement(pods, [host('n1', [['a', 'u1'], ['gone', 'u9']]), host('n2', [['b', 'u2']])]), [
    'host n1: orphan container of pod gone (uid u9), which no longer exists',
    'host n1: orphan cgroup of pod uid u9, which no longer exists',
    'host n1: orphan network namespace of pod uid u9, which no longer exists',
  ]);
  t.same(checkPlacement(pods, [host('n1', [['a', 'u1']]), host('n2', [])]), ['pod b: Running in the store, but no container of it runs on n2']);
  const stopped = host('n2', [['b', 'u2']]);
  stopped.containers[0]!.running = false;
  t.same(checkPlacement(pods, [host('n1', [['a', 'u1']]), stopped]), ['pod b: Running in the store, but no container of it runs on n2'],
    'a stopped container does not count as running');
});

t.test('probe pods end with exit 3 (Error), never 127 (StartError)', async (t) => {
  const probe = (name: string, exitCode?: number, reason = 'Error') => pod(name, name, 'n1', {
    probe: true, phase: exitCode === undefined ? 'Pending' : 'Failed', ...(exitCode === undefined ? {} : { terminated: { exitCode, reason } }),
  });
  t.same(checkProbeExits([probe('p1', 3), probe('p2')]), []);
  t.same(checkProbeExits([probe('p1', 127, 'StartError'), probe('p2', 3, 'OOMKilled')]), [
    'probe pod p1 on n1: exited 127 (StartError), want 3 (Error)',
    'probe pod p2 on n1: exited 3 (OOMKilled), want 3 (Error)',
  ]);
});
