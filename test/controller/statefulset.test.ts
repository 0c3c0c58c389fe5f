// The StatefulSet planner: pods <set>-<ordinal> made in order (OrderedReady waits for each to be
// running and ready) or all at once (Parallel), their claims made first from volumeClaimTemplates,
// scale-down from the highest ordinal, a rolling update from the top down to the partition one pod
// at a time, OnDelete, the retention policy's claim deletion, stable hostnames, and the status.

import t from 'tap';
import type { PersistentVolumeClaim, Pod, StatefulSet } from '../../proto/resources';
import { withDefaults } from '../../proto/resources';
import { plan, podFor, revisionOf, POD_NAME_LABEL, POD_INDEX_LABEL, type StatefulSetAction, type StatefulSetPlan } from '../../controller/controllers/statefulset';
import { REVISION_HASH_LABEL } from '../../controller/controllers/daemonset';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const NOW = new Date(T0 + 3600_000);

function sts(extra: Partial<StatefulSet['spec']> = {}, image = 'db:1'): StatefulSet {
  return withDefaults<StatefulSet>({
    apiVersion: 'apps/v1', kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default', uid: 'sts-uid', generation: 1 },
    spec: {
      replicas: 3,
      serviceName: 'nginx',
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image, volumeMounts: [{ name: 'www', mountPath: '/data' }] }] } },
      volumeClaimTemplates: [{ metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      ...extra,
    },
  });
}

/** The set's pod of an ordinal as the controller made it, in a state. */
function pod(set: StatefulSet, ordinal: number, o: { ready?: boolean; phase?: 'Pending' | 'Running' | 'Failed'; deleting?: boolean; revisionOf?: StatefulSet } = {}): Pod {
  const p = podFor(o.revisionOf ?? set, ordinal, revisionOf(o.revisionOf ?? set));
  p.metadata.uid = `p${ordinal}`;
  if (o.deleting) p.metadata.deletionTimestamp = new Date(T0).toISOString();
  p.status = { phase: o.phase ?? 'Running', ...(o.ready === false ? {} : { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(T0).toISOString() }] }) };
  return p;
}

const claim = (name: string): PersistentVolumeClaim => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: 'default', uid: `c-${name}` }, spec: {} });
const of = <K extends StatefulSetAction['type']>(p: StatefulSetPlan, type: K) => p.actions.filter((a): a is Extract<StatefulSetAction, { type: K }> => a.type === type);
const createdPods = (p: StatefulSetPlan) => of(p, 'create-pod').map((a) => a.pod.metadata.name);
const deletedPods = (p: StatefulSetPlan) => of(p, 'delete-pod').map((a) => a.pod.name);

t.test('OrderedReady: web-0 first with its claim, web-1 only once web-0 runs and is ready', async (t) => {
  const set = sts();
  const first = plan(set, [], [], NOW);
  t.same(createdPods(first), ['web-0']);
  t.same(of(first, 'create-claim').map((a) => a.claim.metadata.name), ['www-web-0']);
  t.ok(first.actions.findIndex((a) => a.type === 'create-claim') < first.actions.findIndex((a) => a.type === 'create-pod'), 'the claim is made before its pod');
  const claimMade = of(first, 'create-claim')[0]!.claim;
  t.same(claimMade.metadata.labels, { app: 'web' }, "the claim carries the set's selector labels");
  t.notOk(claimMade.metadata.ownerReferences, 'whenDeleted Retain: the claim is not owned');
  const made = of(first, 'create-pod')[0]!.pod;
  t.equal(made.spec.hostname, 'web-0');
  t.equal(made.spec.subdomain, 'nginx');
  t.same(made.spec.volumes, [{ name: 'www', persistentVolumeClaim: { claimName: 'www-web-0' } }]);
  t.equal(made.metadata.labels?.[POD_NAME_LABEL], 'web-0');
  t.equal(made.metadata.labels?.[POD_INDEX_LABEL], '0');
  t.equal(made.metadata.labels?.[REVISION_HASH_LABEL], revisionOf(set));
  t.match(made.metadata.ownerReferences, [{ kind: 'StatefulSet', name: 'web', uid: 'sts-uid', controller: true }]);

  t.same(createdPods(plan(set, [pod(set, 0, { ready: false })], [claim('www-web-0')], NOW)), [], 'web-0 not ready: nothing more');
  t.same(createdPods(plan(set, [pod(set, 0, { phase: 'Pending' })], [claim('www-web-0')], NOW)), [], 'web-0 not running: nothing more');
  const next = plan(set, [pod(set, 0)], [claim('www-web-0')], NOW);
  t.same(createdPods(next), ['web-1']);
  t.same(of(next, 'create-claim').map((a) => a.claim.metadata.name), ['www-web-1'], "web-0's claim exists: only web-1's is made");
  t.same(createdPods(plan(set, [pod(set, 0), pod(set, 2)], [], NOW)), ['web-1'], 'a missing ordinal in the middle is made again');
});

t.test('Parallel: every pod at once, every condemned pod at once', async (t) => {
  const set = sts({ podManagementPolicy: 'Parallel' });
  t.same(createdPods(plan(set, [], [], NOW)), ['web-0', 'web-1', 'web-2']);
  const down = sts({ podManagementPolicy: 'Parallel', replicas: 1 });
  t.same(deletedPods(plan(down, [pod(down, 0), pod(down, 1), pod(down, 2, { ready: false })], [], NOW)).sort(), ['web-1', 'web-2']);
});

t.test('scale-down: the highest ordinal first, one at a time, only while the rest are healthy; claims are kept unless whenScaled is Delete', async (t) => {
  const set = sts({ replicas: 1 });
  const pods = [pod(set, 0), pod(set, 1), pod(set, 2)];
  t.same(deletedPods(plan(set, pods, [], NOW)), ['web-2']);
  t.same(deletedPods(plan(set, [pod(set, 0), pod(set, 1), pod(set, 2, { deleting: true })], [], NOW)), [], 'web-2 still going: web-1 waits');
  t.same(deletedPods(plan(set, [pod(set, 0, { ready: false }), pod(set, 1), pod(set, 2)], [], NOW)), [], 'web-0 unhealthy: nothing goes');
  const claims = [claim('www-web-0'), claim('www-web-1'), claim('www-web-2')];
  t.same(of(plan(set, [pod(set, 0)], claims, NOW), 'delete-claim'), [], 'Retain keeps the claims of ordinals scaled away');
  const deleting = sts({ replicas: 1, persistentVolumeClaimRetentionPolicy: { whenScaled: 'Delete', whenDeleted: 'Retain' } });
  t.same(of(plan(deleting, [pod(deleting, 0), pod(deleting, 1)], claims, NOW), 'delete-claim').map((a) => a.claim.name), ['www-web-2'],
    "whenScaled Delete: the claim of an ordinal whose pod has gone, not the one whose pod is still there");
  const owned = sts({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } });
  t.match(of(plan(owned, [], [], NOW), 'create-claim')[0]!.claim.metadata.ownerReferences, [{ kind: 'StatefulSet', uid: 'sts-uid' }], 'whenDeleted Delete: the set owns its claims');
});

t.test('a failed pod is deleted and made again under its name', async (t) => {
  const set = sts();
  const p = plan(set, [pod(set, 0), pod(set, 1, { phase: 'Failed' }), pod(set, 2)], [], NOW);
  t.same(deletedPods(p), ['web-1']);
  t.same(createdPods(p), [], 'made again once it has gone');
  t.same(createdPods(plan(set, [pod(set, 0), pod(set, 2)], [], NOW)), ['web-1']);
});

t.test('rolling update: from the highest ordinal down, one pod at a time, to the partition; OnDelete waits', async (t) => {
  const old = sts();
  const next = sts({}, 'db:2');
  const pods = [pod(next, 0, { revisionOf: old }), pod(next, 1, { revisionOf: old }), pod(next, 2, { revisionOf: old })];
  t.same(deletedPods(plan(next, pods, [], NOW)), ['web-2']);
  const twoDone = [pod(next, 0, { revisionOf: old }), pod(next, 1, { revisionOf: old }), pod(next, 2)];
  t.same(deletedPods(plan(next, twoDone, [], NOW)), ['web-1']);
  t.same(deletedPods(plan(next, [pod(next, 0, { revisionOf: old }), pod(next, 1, { revisionOf: old }), pod(next, 2, { ready: false })], [], NOW)), [], 'the new web-2 not ready: wait');
  const made = plan(next, [pod(next, 0, { revisionOf: old }), pod(next, 1, { revisionOf: old })], [], NOW);
  t.equal(of(made, 'create-pod')[0]!.pod.spec.containers[0]!.image, 'db:2', 'made again from the new template');
  const canary = sts({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }, 'db:2');
  t.same(deletedPods(plan(canary, twoDone, [], NOW)), [], 'partition 2: web-0 and web-1 keep the old template');
  const onDelete = sts({ updateStrategy: { type: 'OnDelete' } }, 'db:2');
  t.same(deletedPods(plan(onDelete, pods, [], NOW)), [], 'OnDelete: nothing is replaced');
});

t.test('status: replicas, ready, updated, revisions', async (t) => {
  const old = sts();
  const next = sts({}, 'db:2');
  next.status = { currentRevision: revisionOf(old) };
  const p = plan(next, [pod(next, 0, { revisionOf: old }), pod(next, 1, { revisionOf: old }), pod(next, 2, { ready: false })], [], NOW);
  t.match(of(p, 'update-statefulset-status')[0]!.status, {
    replicas: 3, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 1, currentReplicas: 2,
    currentRevision: revisionOf(old), updateRevision: revisionOf(next), observedGeneration: 1,
  });
  const done = plan(next, [pod(next, 0), pod(next, 1), pod(next, 2)], [], NOW);
  t.match(of(done, 'update-statefulset-status')[0]!.status, { currentRevision: revisionOf(next), currentReplicas: 3, updatedReplicas: 3 }, 'all updated and ready: the update revision is current');
});
