// Rollout decisions over snapshots: kubectl rollout status's messages, apply --wait's verdicts
// (including failing fast on a stuck pod), rollout history and the revision undo picks.

import t from 'tap';
import type { Deployment, Pod, PodTemplateSpec, ReplicaSet } from '../../proto/resources';
import { waitVerdict } from '../../cli/cluster/apply-wait';
import { planUndo, revisions } from '../../cli/cluster/rollout-history';
import { deploymentRolloutStatus, newReplicaSet, ReadyClock, rolloutWait } from '../../cli/cluster/rollout-state';

const template = (image: string): PodTemplateSpec => ({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } });

function deployment(status: Deployment['status'], extra: Partial<Deployment['spec']> = {}, generation = 2): Deployment {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'dep-uid', generation, annotations: { 'deployment.kubernetes.io/revision': '2' } },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template('web:2'), ...extra },
    status,
  };
}

function replicaSet(name: string, image: string, revision: number, extra: Partial<ReplicaSet['metadata']> = {}): ReplicaSet {
  const t = template(image);
  t.metadata!.labels!['pod-template-hash'] = name.split('-')[1]!;
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: { name, namespace: 'default', uid: `${name}-uid`, annotations: { 'deployment.kubernetes.io/revision': String(revision) }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'dep-uid', controller: true }], ...extra },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: t },
  };
}

function pod(name: string, rs: ReplicaSet, status: Pod['status']): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name!, uid: rs.metadata.uid!, controller: true }] },
    spec: rs.spec.template.spec,
    status,
  };
}

const rolledOut = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 };
const readyStatus: Pod['status'] = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };

t.test('rollout status: kubectl\'s messages in kubectl\'s order', async (t) => {
  t.same(deploymentRolloutStatus(deployment({ observedGeneration: 1 })), { state: 'waiting', message: 'Waiting for deployment spec update to be observed...' });
  t.same(deploymentRolloutStatus(deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 1 })),
    { state: 'waiting', message: 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...' });
  t.same(deploymentRolloutStatus(deployment({ observedGeneration: 2, replicas: 4, updatedReplicas: 3 })),
    { state: 'waiting', message: 'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...' });
  t.same(deploymentRolloutStatus(deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 2 })),
    { state: 'waiting', message: 'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...' });
  t.same(deploymentRolloutStatus(deployment(rolledOut)), { state: 'done', message: 'deployment "web" successfully rolled out' });
  t.same(deploymentRolloutStatus(deployment({ ...rolledOut, updatedReplicas: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] })),
    { state: 'failed', message: 'deployment "web" exceeded its progress deadline' });
  t.equal(deploymentRolloutStatus(deployment({ observedGeneration: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] })).state, 'waiting',
    'a deadline of an earlier generation does not fail the new rollout');
});

t.test('the new ReplicaSet is the one with the Deployment\'s template', async (t) => {
  const old = replicaSet('web-aaa', 'web:1', 1);
  const current = replicaSet('web-bbb', 'web:2', 2);
  const stranger = { ...replicaSet('web-ccc', 'web:2', 5), metadata: { ...replicaSet('web-ccc', 'web:2', 5).metadata, ownerReferences: [] } };
  t.equal(newReplicaSet(deployment(rolledOut), [old, current, stranger].filter((rs) => rs.metadata.ownerReferences?.length)), current);
  t.equal(newReplicaSet(deployment(rolledOut), [old]), undefined);
});

t.test('apply --wait: fails fast on a stuck new pod, waits for old pods to go', async (t) => {
  const old = replicaSet('web-aaa', 'web:1', 1);
  const current = replicaSet('web-bbb', 'web:2', 2);
  const d = deployment({ ...rolledOut, updatedReplicas: 1, availableReplicas: 2, replicas: 3 });
  const stuck = pod('web-bbb-xyz', current, { phase: 'Pending', containerStatuses: [{ name: 'web', image: 'web:2', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "web:2"' } } }] });
  t.same(rolloutWait(d, [old, current], [pod('web-aaa-1', old, readyStatus), stuck]),
    { state: 'failed', message: 'deployment/web: pod web-bbb-xyz: ImagePullBackOff: Back-off pulling image "web:2"' });
  const oldStuck = pod('web-aaa-2', old, { phase: 'Running', containerStatuses: [{ name: 'web', image: 'web:1', ready: false, restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff' } } }] });
  t.equal(rolloutWait(d, [old, current], [oldStuck]).state, 'waiting', 'an old pod in trouble is on its way out, not a reason to fail');
  const unschedulable = pod('web-bbb-u', current, { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'no node fits' }] });
  t.same(rolloutWait(d, [current], [unschedulable]), { state: 'failed', message: 'deployment/web: pod web-bbb-u: Unschedulable: no node fits' });

  const done = deployment(rolledOut);
  const newPods = ['1', '2', '3'].map((n) => pod(`web-bbb-${n}`, current, readyStatus));
  t.same(rolloutWait(done, [old, current], [...newPods, pod('web-aaa-1', old, { ...readyStatus })]),
    { state: 'waiting', message: 'Waiting for deployment "web" rollout to finish: 1 old pods are pending termination...' });
  t.same(rolloutWait(done, [old, current], newPods), { state: 'done', message: 'deployment "web" successfully rolled out' });
  t.same(rolloutWait(deployment({ ...rolledOut, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-bbb" has timed out progressing.' }] }), [current], []),
    { state: 'failed', message: 'deployment/web: deployment "web" exceeded its progress deadline: ReplicaSet "web-bbb" has timed out progressing.' });
});

t.test('a crash loop is never rolled out: a restarted container fails the wait, a pod counts once it stayed ready', async (t) => {
  const current = replicaSet('web-bbb', 'web:2', 2);
  const done = deployment(rolledOut);
  const ready = (name: string, uid: string, restartCount = 0): Pod => ({
    ...pod(name, current, { ...readyStatus, containerStatuses: [{ name: 'web', image: 'web:2', ready: true, restartCount, state: { running: {} }, ...(restartCount ? { lastState: { terminated: { exitCode: 1, reason: 'Error' } } } : {}) }] }),
    metadata: { ...pod(name, current, readyStatus).metadata, uid },
  });
  const pods = [ready('web-bbb-1', 'u1'), ready('web-bbb-2', 'u2'), ready('web-bbb-3', 'u3')];
  const clock = new ReadyClock();
  clock.observe(pods, 10_000);
  t.same(rolloutWait(done, [current], pods, clock), { state: 'waiting', message: 'Waiting for deployment "web" rollout to finish: 3 new pods have not stayed ready for 1s yet...' }, 'ready this instant');
  clock.observe(pods, 11_000);
  t.same(rolloutWait(done, [current], pods, clock), { state: 'done', message: 'deployment "web" successfully rolled out' }, 'ready for a second');
  clock.observe([{ ...pods[0]!, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] } }], 11_100);
  clock.observe(pods, 11_200);
  t.equal(rolloutWait(done, [current], pods, clock).state, 'waiting', 'unready in between: the second starts again');
  const slow = deployment(rolledOut, { minReadySeconds: 5 });
  clock.observe(pods, 14_000);
  t.match(rolloutWait(slow, [current], pods, clock).message, /have not stayed ready for 5s yet/, 'minReadySeconds when longer');
  t.same(rolloutWait(done, [current], [pods[0]!, ready('web-bbb-2', 'u2', 1), pods[2]!], clock),
    { state: 'failed', message: 'deployment/web: pod web-bbb-2: CrashLoopBackOff: container web has restarted 1 time (last exit: Error, code 1)' }, 'running and ready now, but it restarted: no probe hides a crash loop');
});

t.test('waitVerdict: every applied Deployment and Pod, each on its own', async (t) => {
  const current = replicaSet('web-bbb', 'web:2', 2);
  const bare: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'solo', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] }, status: { phase: 'Pending', containerStatuses: [{ name: 'c', image: 'x', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] } };
  const targets = [deployment(undefined), bare, { ...bare, metadata: { name: 'missing', namespace: 'default' } }];
  const verdict = waitVerdict(targets, { deployments: [deployment(rolledOut)], replicaSets: [current], pods: [bare, ...['1', '2', '3'].map((n) => pod(`web-bbb-${n}`, current, readyStatus))] });
  t.same(verdict.map((v) => [v.ref, v.state.state, v.state.message]), [
    ['deployment/web', 'done', 'deployment "web" successfully rolled out'],
    ['pod/solo', 'waiting', 'Waiting for pod "solo" to be ready: ContainerCreating'],
    ['pod/missing', 'waiting', 'Waiting for pod/missing to appear...'],
  ]);
  const failedPod = { ...bare, status: { phase: 'Pending' as const, containerStatuses: [{ name: 'c', image: 'x', ready: false, restartCount: 0, state: { waiting: { reason: 'ErrImagePull', message: 'not found' } } }] } };
  t.same(waitVerdict([bare], { deployments: [], replicaSets: [], pods: [failedPod] })[0]!.state, { state: 'failed', message: 'pod/solo: ErrImagePull: not found' });
});

t.test('history and undo: revisions from the ReplicaSets\' annotations', async (t) => {
  const r1 = replicaSet('web-aaa', 'web:1', 1, { annotations: { 'deployment.kubernetes.io/revision': '1', 'kubernetes.io/change-cause': 'first' } });
  const r2 = replicaSet('web-bbb', 'web:2', 2);
  const r3 = replicaSet('web-ccc', 'web:3', 3);
  const unrelated = { ...replicaSet('other-ddd', 'web:9', 7), metadata: { ...replicaSet('other-ddd', 'web:9', 7).metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'other', uid: 'other-uid' }] } };
  const d = deployment(rolledOut, { template: template('web:3') });
  t.same(revisions(d, [r3, unrelated, r1, r2]).map((r) => [r.revision, r.changeCause]), [[1, 'first'], [2, undefined], [3, undefined]]);

  const back = planUndo(d, [r1, r2, r3], 0);
  t.same(back, { type: 'rollback', revision: 2, template: template('web:2') }, 'the previous revision, without its pod-template-hash label');
  t.same(planUndo(d, [r1, r2, r3], 1), { type: 'rollback', revision: 1, template: template('web:1') });
  t.same(planUndo(d, [r1, r2, r3], 3), { type: 'skip', revision: 3 });
  t.same(planUndo(d, [r1, r2, r3], 9), { type: 'error', message: 'unable to find specified revision 9 in history' });
  t.same(planUndo(d, [], 0), { type: 'error', message: 'no rollout history found for deployment "web"' });
  t.match(planUndo(d, [r3], 0), { type: 'error', message: /no previous revision/ });
  t.match(planUndo(deployment(rolledOut, { paused: true }), [r1, r2], 0), { type: 'error', message: /cannot rollback a paused deployment/ });
});
