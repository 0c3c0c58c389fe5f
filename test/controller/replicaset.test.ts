// The ReplicaSet planner: pods made from the template, surplus chosen as Kubernetes chooses it,
// ended and terminating pods, and the status (ready vs available after minReadySeconds).

import t from 'tap';
import type { Pod, PodPhase, ReplicaSet } from '../../proto/resources';
import { plan, deletionOrder, randomSuffix, BURST_REPLICAS, type ReplicaSetAction, type ReplicaSetPlan } from '../../controller/controllers/replicaset';
import { frozen } from '../fixtures/frozen';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const NOW = new Date(T0 + 3600_000);


function replicaSet(replicas: number, o: { minReadySeconds?: number; generation?: number; status?: ReplicaSet['status']; deleting?: boolean } = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: {
      name: 'web-7d4b9', namespace: 'shop', uid: 'rs-uid', generation: o.generation ?? 3,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true }],
      ...(o.deleting ? { deletionTimestamp: iso(T0) } : {}),
    },
    spec: {
      replicas,
      minReadySeconds: o.minReadySeconds ?? 0,
      selector: { matchLabels: { app: 'web', 'pod-template-hash': '7d4b9' } },
      template: {
        metadata: { labels: { app: 'web', 'pod-template-hash': '7d4b9' }, annotations: { note: 'x' } },
        spec: { containers: [{ name: 'web', image: 'nginx:1.25' }], restartPolicy: 'Always', nodeName: 'should-not-copy' },
      },
    },
    ...(o.status ? { status: o.status } : {}),
  };
}

interface PodOptions {
  node?: string;
  phase?: PodPhase;
  ready?: boolean;
  readySince?: number;
  created?: number;
  restarts?: number;
  deleting?: boolean;
  cost?: number;
  owner?: string;
}

function pod(name: string, o: PodOptions = {}): Pod {
  const phase = o.phase ?? 'Running';
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: 'shop', uid: `uid-${name}`, creationTimestamp: iso(o.created ?? T0),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9', uid: o.owner ?? 'rs-uid', controller: true }],
      ...(o.deleting ? { deletionTimestamp: iso(T0) } : {}),
      ...(o.cost !== undefined ? { annotations: { 'controller.kubernetes.io/pod-deletion-cost': String(o.cost) } } : {}),
    },
    spec: { containers: [{ name: 'web', image: 'nginx:1.25' }], ...(o.node === '' ? {} : { nodeName: o.node ?? 'n1' }) },
    status: {
      phase,
      conditions: [{ type: 'Ready', status: (o.ready ?? phase === 'Running') ? 'True' : 'False', lastTransitionTime: iso(o.readySince ?? T0) }],
      containerStatuses: [{ name: 'web', image: 'nginx:1.25', ready: o.ready ?? true, restartCount: o.restarts ?? 0 }],
    },
  };
}

const of = <K extends ReplicaSetAction['type']>(p: ReplicaSetPlan, type: K) =>
  p.actions.filter((a): a is Extract<ReplicaSetAction, { type: K }> => a.type === type);
const suffixes = (...names: string[]) => {
  let i = 0;
  return () => names[i++ % names.length]!;
};

t.test('creates the missing pods from the template', async (t) => {
  const p = plan(frozen(replicaSet(3)), frozen([pod('web-7d4b9-aaaaa')]), NOW, suffixes('bbbbb', 'ccccc'));
  const created = of(p, 'create-pod').map((a) => a.pod);
  t.same(created.map((x) => x.metadata.name), ['web-7d4b9-bbbbb', 'web-7d4b9-ccccc']);
  t.same(created[0], {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: 'web-7d4b9-bbbbb', namespace: 'shop',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9', uid: 'rs-uid', controller: true }],
      labels: { app: 'web', 'pod-template-hash': '7d4b9' }, annotations: { note: 'x' },
    },
    spec: { containers: [{ name: 'web', image: 'nginx:1.25' }], restartPolicy: 'Always' },
    status: { phase: 'Pending' },
  }, 'labels and annotations from the template, owned, unscheduled');
  t.same(of(p, 'event').map((a) => `${a.event.reason}: ${a.event.message}`), ['SuccessfulCreate: Created pod: web-7d4b9-bbbbb', 'SuccessfulCreate: Created pod: web-7d4b9-ccccc']);
  t.equal(of(p, 'event')[0]!.event.involvedObject.kind, 'ReplicaSet');
  t.equal(of(p, 'event')[0]!.event.source.component, 'replicaset-controller');
});

t.test('a generated name that is taken is drawn again', async (t) => {
  const p = plan(frozen(replicaSet(2)), frozen([pod('web-7d4b9-aaaaa')]), NOW, suffixes('aaaaa', 'ddddd'));
  t.same(of(p, 'create-pod').map((a) => a.pod.metadata.name), ['web-7d4b9-ddddd']);
  const dup = plan(frozen(replicaSet(2)), [], NOW, suffixes('eeeee', 'eeeee', 'fffff'));
  t.same(of(dup, 'create-pod').map((a) => a.pod.metadata.name), ['web-7d4b9-eeeee', 'web-7d4b9-fffff'], 'two new pods never share a name');
  t.throws(() => plan(frozen(replicaSet(2)), frozen([pod('web-7d4b9-aaaaa')]), NOW, () => 'aaaaa'), /100 names in a row that are taken/);
});

t.test('the default suffix generator: 5 characters of [a-z0-9]', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const s = randomSuffix();
    t.match(s, /^[a-z0-9]{5}$/);
    seen.add(s);
  }
  t.ok(seen.size > 190, 'random');
});

t.test('surplus pods: deleted in Kubernetes order', async (t) => {
  // Each row: two pods, the first must be deleted before the second.
  const rows: [string, PodOptions, PodOptions][] = [
    ['unscheduled before scheduled', { node: '', phase: 'Pending', ready: false }, { node: 'n1' }],
    ['Pending before Running', { phase: 'Pending', ready: false }, { phase: 'Running' }],
    ['Unknown before Running', { phase: 'Unknown', ready: false }, { phase: 'Running', ready: false }],
    ['Pending before Unknown', { phase: 'Pending', ready: false }, { phase: 'Unknown', ready: false }],
    ['not ready before ready', { ready: false }, { ready: true }],
    ['lower deletion cost first', { cost: -5 }, { cost: 10 }],
    ['doubled up before alone', { node: 'crowded' }, { node: 'alone' }],
    ['ready more recently before ready longer', { readySince: T0 + 1000 }, { readySince: T0 }],
    ['more restarts before fewer', { restarts: 5 }, { restarts: 1 }],
    ['newer before older', { created: T0 + 5000 }, { created: T0 }],
    ['ready first beats not-yet-scheduled? no: unscheduled first regardless of age', { node: '', phase: 'Pending', ready: false, created: T0 }, { created: T0 + 9999 }],
  ];
  for (const [what, first, second] of rows) {
    const a = pod('first', first);
    const b = pod('second', second);
    const extra = first.node === 'crowded' ? [pod('buddy', { node: 'crowded', created: T0 - 99_999 })] : [];
    const siblings = [a, b, ...extra];
    t.same(deletionOrder([b, a], siblings).map((x) => x.metadata.name), ['first', 'second'], what);
    t.same(deletionOrder([a, b], siblings).map((x) => x.metadata.name), ['first', 'second'], `${what} (either input order)`);
  }

  const pods = [
    pod('old-ready', { created: T0 }),
    pod('new-ready', { created: T0 + 1000 }),
    pod('pending', { phase: 'Pending', ready: false, node: '' }),
    pod('crashing', { ready: false, restarts: 9 }),
  ];
  const p = plan(frozen(replicaSet(1)), frozen(pods), NOW, randomSuffix);
  t.same(of(p, 'delete-pod').map((a) => a.pod.name), ['pending', 'crashing', 'new-ready'], 'the oldest ready pod is kept');
  t.same(of(p, 'delete-pod')[0], { type: 'delete-pod', pod: { namespace: 'shop', name: 'pending', uid: 'uid-pending' }, reason: 'surplus' });
  t.same(of(p, 'create-pod'), []);
});

t.test('pods being deleted do not count: a replacement starts at once', async (t) => {
  const pods = [pod('a'), pod('b', { deleting: true }), pod('c', { created: T0 + 1 })];
  const p = plan(frozen(replicaSet(3)), frozen(pods), NOW, suffixes('zzzzz'));
  t.equal(of(p, 'create-pod').length, 1);
  t.same(of(p, 'delete-pod'), [], 'and it is not deleted twice');
  t.match(of(p, 'update-replicaset-status')[0]!.status, { replicas: 2 });
  const scaleDown = plan(frozen(replicaSet(1)), frozen(pods), NOW, randomSuffix);
  t.same(of(scaleDown, 'delete-pod').map((a) => a.pod.name), ['c'], 'one surplus among the two live pods: the newer');
});

t.test('Failed and Succeeded pods are no replicas: deleted and replaced', async (t) => {
  const pods = [pod('ok'), pod('failed', { phase: 'Failed', ready: false }), pod('done', { phase: 'Succeeded', ready: false }), pod('failed-going', { phase: 'Failed', ready: false, deleting: true })];
  const p = plan(frozen(replicaSet(2)), frozen(pods), NOW, suffixes('nnnnn'));
  t.same(of(p, 'delete-pod').map((a) => [a.pod.name, a.reason]), [['failed', 'terminated'], ['done', 'terminated']]);
  t.same(of(p, 'create-pod').map((a) => a.pod.metadata.name), ['web-7d4b9-nnnnn']);
  t.match(of(p, 'update-replicaset-status')[0]!.status, { replicas: 1, readyReplicas: 1 });
});

t.test('pods controlled by someone else are ignored', async (t) => {
  const p = plan(frozen(replicaSet(2)), frozen([pod('mine'), pod('theirs', { owner: 'other-uid' })]), NOW, suffixes('qqqqq'));
  t.equal(of(p, 'create-pod').length, 1);
  t.same(of(p, 'delete-pod'), []);
});

t.test('status: replicas, ready, available after minReadySeconds (strictly), observedGeneration', async (t) => {
  const now = T0 + 100_000;
  const pods = [
    pod('long', { readySince: now - 60_000 }),
    pod('exact', { readySince: now - 30_000 }),
    pod('recent', { readySince: now - 29_000 }),
    pod('starting', { phase: 'Pending', ready: false }),
  ];
  const p = plan(frozen(replicaSet(4, { minReadySeconds: 30, generation: 7 })), frozen(pods), new Date(now), randomSuffix);
  t.same(p.actions, [{
    type: 'update-replicaset-status',
    replicaSet: { namespace: 'shop', name: 'web-7d4b9', uid: 'rs-uid' },
    status: { replicas: 4, readyReplicas: 3, availableReplicas: 1, observedGeneration: 7 },
  }], 'at exactly 30 s ready a pod is not yet available');
  t.equal(p.requeueAfterMs, 1, "'exact' turns available 1 ms later");
  const later = plan(frozen(replicaSet(4, { minReadySeconds: 30, generation: 7 })), frozen(pods), new Date(now + 1), randomSuffix);
  t.equal(of(later, 'update-replicaset-status')[0]!.status.availableReplicas, 2);
  t.equal(later.requeueAfterMs, 1000, "then 'recent' a second later");

  const noMin = plan(frozen(replicaSet(4)), frozen(pods), new Date(now), randomSuffix);
  t.equal(of(noMin, 'update-replicaset-status')[0]!.status.availableReplicas, 3, 'minReadySeconds 0: ready is available');
  t.equal(noMin.requeueAfterMs, undefined);

  const steady = replicaSet(4, { minReadySeconds: 0, generation: 7, status: { replicas: 4, readyReplicas: 3, availableReplicas: 3, observedGeneration: 7 } });
  t.same(plan(frozen(steady), frozen(pods), new Date(now), randomSuffix).actions, [], 'nothing changed: nothing to write');
});

t.test('a ReplicaSet being deleted makes and removes no pods', async (t) => {
  const p = plan(frozen(replicaSet(3, { deleting: true })), frozen([pod('a'), pod('b', { phase: 'Failed', ready: false })]), NOW, randomSuffix);
  t.same(of(p, 'create-pod'), []);
  t.same(of(p, 'delete-pod'), []);
  t.equal(of(p, 'update-replicaset-status').length, 1);
});

t.test('at most BURST_REPLICAS pods per plan', async (t) => {
  let n = 0;
  const p = plan(frozen(replicaSet(BURST_REPLICAS + 50)), [], NOW, () => String(n++).padStart(5, '0'));
  t.equal(of(p, 'create-pod').length, BURST_REPLICAS);
});

t.test('scale to zero removes every pod', async (t) => {
  const p = plan(frozen(replicaSet(0)), frozen([pod('a'), pod('b'), pod('c', { phase: 'Pending', ready: false })]), NOW, randomSuffix);
  t.same(of(p, 'delete-pod').map((a) => a.pod.name).sort(), ['a', 'b', 'c']);
});
