// The pod worker's planner as a pure function: many cases, no host.

import t from 'tap';
import type { Container, Pod } from '../../proto/resources';
import { containerHash } from '../../agent/node/naming';
import { plan, restartDueAt } from '../../agent/node/plan';
import type { ObservedContainer, PlanInput } from '../../agent/node/types';
import { DOCKER_RESTART_BACKOFF, KUBELET_RESTART_BACKOFF } from '../../agent/runtime';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const web: Container = { name: 'web', image: 'reg/web:1' };
const side: Container = { name: 'side', image: 'reg/side:1' };

function pod(containers: Container[] = [web], extra: Partial<Pod['spec']> = {}, meta: Partial<Pod['metadata']> = {}): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u-1', ...meta }, spec: { containers, nodeName: 'n1', ...extra } };
}

function observed(c: Container, over: Partial<ObservedContainer> = {}): ObservedContainer {
  return { id: `id-${c.name}`, name: c.name, hash: containerHash(c), image: c.image, imageId: 'sha256:x', status: 'running', startedAt: new Date(NOW - 60_000).toISOString(), restartCount: 0, backoff: KUBELET_RESTART_BACKOFF, ...over };
}

function input(over: Partial<PlanInput> = {}): PlanInput {
  return { pod: pod(), terminating: false, network: { exists: true, ready: true }, cgroup: { exists: true }, containers: [], images: {}, createFailures: {}, unhealthy: [], now: NOW, ...over };
}

t.test('a new pod: network and pulls first, creates once the image is there and the network is ready', async (t) => {
  t.same(plan(input({ network: { exists: false, ready: false } })).actions, [
    { type: 'attach-network' },
    { type: 'pull-image', container: 'web', image: 'reg/web:1' },
  ]);
  t.same(plan(input({ network: { exists: false, ready: false }, images: { web: { state: 'present', imageId: 'sha256:a' } } })).actions, [{ type: 'attach-network' }], 'no create without the network');
  t.same(plan(input({ images: { web: { state: 'present', imageId: 'sha256:a' } } })).actions, [{ type: 'create-container', container: 'web' }]);
  t.same(plan(input({ images: { web: { state: 'pulling' } } })).actions, [], 'a pull under way: wait for it');
});

t.test("the pod's cgroup is made before its containers, which are made inside it", async (t) => {
  const present = { web: { state: 'present' as const, imageId: 'sha256:a' } };
  t.same(plan(input({ cgroup: { exists: false }, images: present })).actions, [{ type: 'create-pod-cgroup' }], 'no create outside the cgroup');
  t.same(plan(input({ cgroup: { exists: false }, network: { exists: false, ready: false } })).actions, [
    { type: 'attach-network' }, { type: 'create-pod-cgroup' }, { type: 'pull-image', container: 'web', image: 'reg/web:1' },
  ], 'network, cgroup and pulls go together');
  t.same(plan(input({ cgroup: { exists: false }, containers: [observed(web)] })).actions, [{ type: 'create-pod-cgroup' }], 'adopted from before pod cgroups: made, the running container left alone');
});

t.test('two containers: one image present, the other still pulling, the first is not held up', async (t) => {
  const p = plan(input({ pod: pod([web, side]), images: { web: { state: 'present', imageId: 'sha256:a' }, side: { state: 'pulling' } } }));
  t.same(p.actions, [{ type: 'create-container', container: 'web' }]);
});

t.test('failed pulls wait out their back-off; never and invalid images do nothing', async (t) => {
  const failed = { state: 'failed' as const, message: 'manifest unknown', failedAt: NOW - 500, retryAt: NOW + 1500 };
  const waiting = plan(input({ images: { web: failed } }));
  t.same(waiting.actions, []);
  t.equal(waiting.wakeAt, NOW + 1500, 'wakes when the back-off ends');
  t.same(plan(input({ images: { web: { ...failed, retryAt: NOW } } })).actions, [{ type: 'pull-image', container: 'web', image: 'reg/web:1' }], 'due: pull again');
  t.same(plan(input({ images: { web: { state: 'never', message: 'x' } } })).actions, []);
  t.same(plan(input({ images: { web: { state: 'invalid', message: 'x' } } })).actions, []);
});

t.test('a create that failed is retried after its back-off', async (t) => {
  const p = plan(input({ images: { web: { state: 'present', imageId: 'sha256:a' } }, createFailures: { web: { message: 'bad', retryAt: NOW + 2000 } } }));
  t.same(p.actions, []);
  t.equal(p.wakeAt, NOW + 2000);
  t.same(plan(input({ images: { web: { state: 'present', imageId: 'sha256:a' } }, createFailures: { web: { message: 'bad', retryAt: NOW } } })).actions, [{ type: 'create-container', container: 'web' }]);
});

t.test('running containers are left alone; created ones are started', async (t) => {
  t.same(plan(input({ containers: [observed(web)] })).actions, []);
  t.same(plan(input({ containers: [observed(web, { status: 'created', startedAt: undefined })] })).actions, [{ type: 'start-container', container: 'web', id: 'id-web', restart: false }]);
  t.same(plan(input({ containers: [observed(web, { status: 'restarting' })] })).actions, [], 'the runtime restarts it');
});

t.test('adopted after an agent restart: the network is re-attached (idempotent), nothing is recreated', async (t) => {
  const p = plan(input({ network: { exists: true, ready: false }, containers: [observed(web)] }));
  t.same(p.actions, [{ type: 'attach-network' }]);
});

t.test('exited containers under each restart policy', async (t) => {
  const exited = (exitCode: number) => observed(web, { status: 'exited', exitCode, finishedAt: new Date(NOW - 100_000).toISOString(), startedAt: new Date(NOW - 100_500).toISOString(), restartCount: 3 });
  t.same(plan(input({ pod: pod([web], { restartPolicy: 'Never' }), containers: [exited(1)] })).actions, [{ type: 'detach-network' }], 'Never: stays exited; the network goes (its address back to the pool)');
  t.same(plan(input({ pod: pod([web], { restartPolicy: 'OnFailure' }), containers: [exited(0)] })).actions, [{ type: 'detach-network' }], 'OnFailure, exit 0: done');
  t.same(plan(input({ pod: pod([web], { restartPolicy: 'Never' }), containers: [exited(1)], network: { exists: false, ready: false } })).actions, [], 'a finished pod is not attached again');
  t.same(plan(input({ pod: pod([web], { restartPolicy: 'OnFailure' }), containers: [exited(2)] })).actions, [{ type: 'start-container', container: 'web', id: 'id-web', restart: true }]);
  t.same(plan(input({ pod: pod([web], { restartPolicy: 'Always' }), containers: [exited(0)] })).actions, [{ type: 'start-container', container: 'web', id: 'id-web', restart: true }]);
  const recent = observed(web, { status: 'exited', exitCode: 127, startedAt: undefined, finishedAt: new Date(NOW - 10).toISOString(), restartCount: 4 });
  const p = plan(input({ containers: [recent] }));
  t.same(p.actions, [], 'a start that failed a moment ago waits for its back-off');
  t.equal(p.wakeAt, restartDueAt(recent));
  t.equal(restartDueAt(recent), NOW - 10 + 10_000, "the kubelet's back-off: 10 s after a first failure");
});

t.test("a start that failed waits out the container's own back-off: doubled, capped, reset by a long run", async (t) => {
  const finished = NOW - 10;
  const failed = (over: Partial<ObservedContainer>) => observed(web, { status: 'exited', exitCode: 127, finishedAt: new Date(finished).toISOString(), restartCount: 4, ...over });
  t.equal(restartDueAt(failed({ startedAt: undefined, restartDelayMs: 20_000 })), finished + 40_000, 'the last wait doubled');
  t.equal(restartDueAt(failed({ startedAt: undefined, restartDelayMs: 200_000 })), finished + 300_000, 'capped at 5 min');
  t.equal(restartDueAt(failed({ startedAt: new Date(finished - 600_000).toISOString(), restartDelayMs: 300_000 })), finished + 10_000, 'a run of 10 min starts over');
  t.equal(restartDueAt(failed({ startedAt: new Date(finished - 599_000).toISOString(), restartDelayMs: 300_000 })), finished + 300_000, 'a shorter one does not');
  t.equal(restartDueAt(failed({ startedAt: undefined, backoff: DOCKER_RESTART_BACKOFF })), finished + 100, 'a container made with docker\'s policy keeps it');
});

t.test('liveness failures restart (or only stop, under Never)', async (t) => {
  t.same(plan(input({ containers: [observed(web)], unhealthy: ['web'] })).actions, [{ type: 'restart-container', container: 'web', id: 'id-web', reason: 'liveness' }]);
  t.same(plan(input({ pod: pod([web], { restartPolicy: 'Never', terminationGracePeriodSeconds: 5 }), containers: [observed(web)], unhealthy: ['web'] })).actions,
    [{ type: 'stop-container', container: 'web', id: 'id-web', graceSeconds: 5, reason: 'liveness' }]);
});

t.test('a changed spec: stop, then remove, then create anew; strangers and duplicates go', async (t) => {
  const old = observed({ ...web, image: 'reg/web:0' });
  t.same(plan(input({ containers: [old] })).actions, [{ type: 'stop-container', container: 'web', id: 'id-web', graceSeconds: 30, reason: 'spec-changed' }]);
  t.same(plan(input({ containers: [{ ...old, status: 'exited', exitCode: 0 }] })).actions, [{ type: 'remove-container', container: 'web', id: 'id-web', reason: 'spec-changed' }]);
  const stranger = observed({ name: 'gone', image: 'x' }, { status: 'exited', exitCode: 0 });
  t.same(plan(input({ containers: [observed(web), stranger] })).actions, [{ type: 'remove-container', container: 'gone', id: 'id-gone', reason: 'not-in-spec' }]);
  const older = observed(web, { id: 'older', status: 'exited', exitCode: 1, startedAt: new Date(NOW - 900_000).toISOString() });
  t.same(plan(input({ containers: [older, observed(web)] })).actions, [{ type: 'remove-container', container: 'web', id: 'older', reason: 'duplicate' }]);
  t.same(plan(input({ containers: [observed(web)], pod: pod([web]) })).actions, [], 'probes are not part of the hash');
  t.equal(containerHash({ ...web, livenessProbe: { exec: { command: ['true'] } } }), containerHash(web));
});

t.test('termination: stop the running (with the grace period), remove the rest, then the network, the cgroup and the volumes, then report', async (t) => {
  const p = pod([web, side], { terminationGracePeriodSeconds: 7 }, { deletionTimestamp: '2026-01-01T00:00:00Z' });
  t.same(plan(input({ pod: p, terminating: true, containers: [observed(web), observed(side, { status: 'restarting' })] })).actions, [
    { type: 'stop-container', container: 'web', id: 'id-web', graceSeconds: 7, reason: 'pod-terminating' },
    { type: 'remove-container', container: 'side', id: 'id-side', reason: 'pod-terminating' },
  ]);
  t.same(plan(input({ pod: p, terminating: true, containers: [observed(web, { status: 'exited', exitCode: 0 })] })).actions, [{ type: 'remove-container', container: 'web', id: 'id-web', reason: 'pod-terminating' }]);
  t.same(plan(input({ pod: p, terminating: true })).actions, [{ type: 'detach-network' }, { type: 'remove-pod-cgroup' }]);
  t.same(plan(input({ pod: p, terminating: true, network: { exists: false, ready: false } })).actions, [{ type: 'remove-pod-cgroup' }]);
  t.same(plan(input({ pod: p, terminating: true, network: { exists: false, ready: false }, cgroup: { exists: false } })).actions, [{ type: 'pod-terminated' }]);
  t.same(plan(input({ pod: p, terminating: true, containers: [observed(web)], podDir: { exists: true } })).actions.map((a) => a.type), ['stop-container'], 'volumes stay while a container may use them');
  t.same(plan(input({ pod: p, terminating: true, podDir: { exists: true } })).actions, [{ type: 'detach-network' }, { type: 'remove-pod-cgroup' }, { type: 'remove-pod-dir' }], 'then they go with the sandbox');
  t.same(plan(input({ pod: p, terminating: true, network: { exists: false, ready: false }, cgroup: { exists: false }, podDir: { exists: false } })).actions, [{ type: 'pod-terminated' }]);
  const unknown = pod([]);
  t.same(plan(input({ pod: unknown, terminating: true, containers: [observed(web)] })).actions, [{ type: 'stop-container', container: 'web', id: 'id-web', reason: 'pod-terminating' }], 'a pod known only by its labels: each container keeps its own grace period');
});

t.test('init containers: one at a time, each to success, before the app containers; sidecars start first and stay', async (t) => {
  const migrate: Container = { name: 'migrate', image: 'reg/tool:1' };
  const proxy: Container = { name: 'proxy', image: 'reg/proxy:1', restartPolicy: 'Always' };
  const seed: Container = { name: 'seed', image: 'reg/tool:1' };
  const p = pod([web], { initContainers: [migrate, proxy, seed] });
  const present = { state: 'present' as const, imageId: 'sha256:a' };
  const images = { migrate: present, proxy: present, seed: present, web: present };
  const types = (over: Partial<PlanInput>) => plan(input({ pod: p, images, ...over })).actions.map((a) => `${a.type}${'container' in a ? `:${a.container}` : ''}`);

  t.same(types({}), ['create-container:migrate'], 'the first init container only');
  t.same(types({ containers: [observed(migrate)] }), [], 'running: the next waits');
  t.same(types({ containers: [observed(migrate, { status: 'exited', exitCode: 0 })] }), ['create-container:proxy'], 'succeeded: the next one');
  t.same(types({ containers: [observed(migrate, { status: 'exited', exitCode: 0 }), observed(proxy)] }), ['create-container:seed'], 'a sidecar that started lets the next go');
  t.same(types({ containers: [observed(migrate, { status: 'exited', exitCode: 0 }), observed(proxy), observed(seed, { status: 'exited', exitCode: 0 })] }), ['create-container:web'], 'all done: the app containers');
  const initialized = [observed(migrate, { status: 'exited', exitCode: 0 }), observed(proxy, { status: 'exited', exitCode: 1, finishedAt: new Date(NOW - 60_000).toISOString() }), observed(web)];
  t.same(types({ containers: initialized }), ['start-container:proxy'], 'a sidecar is restarted beside running app containers; init containers do not run again');

  const failedAt = new Date(NOW - 1000).toISOString();
  const failed = [observed(migrate, { status: 'exited', exitCode: 2, finishedAt: failedAt, restartCount: 0 })];
  t.same(types({ containers: failed }), [], 'a failed init container waits for its back-off');
  t.ok(plan(input({ pod: p, images, containers: failed })).wakeAt! > NOW);
  t.same(plan(input({ pod: { ...p, spec: { ...p.spec, restartPolicy: 'Never' } }, images, containers: failed })).actions, [{ type: 'detach-network' }], 'restartPolicy Never: not again, nothing after it (the pod failed: its network goes)');
  t.same(plan(input({ pod: { ...p, spec: { ...p.spec, restartPolicy: 'Never' } }, images, containers: failed })).wakeAt, undefined);
});

t.test('termination: app containers stop first, sidecars once nothing else runs', async (t) => {
  const proxy: Container = { name: 'proxy', image: 'reg/proxy:1', restartPolicy: 'Always' };
  const p = pod([web], { initContainers: [proxy] }, { deletionTimestamp: '2026-01-01T00:00:00Z' });
  t.same(plan(input({ pod: p, terminating: true, containers: [observed(proxy), observed(web)] })).actions.map((a) => a.type === 'stop-container' && a.container), ['web']);
  t.same(plan(input({ pod: p, terminating: true, containers: [observed(proxy), observed(web, { status: 'exited', exitCode: 0 })] })).actions.map((a) => `${a.type}:${'container' in a ? a.container : ''}`), ['stop-container:proxy', 'remove-container:web']);
});
