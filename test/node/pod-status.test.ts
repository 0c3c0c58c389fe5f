// Pod status from observed state: phases, container states, conditions and their transition times.

import t from 'tap';
import type { Container, Pod } from '../../proto/resources';
import { containerHash } from '../../agent/node/naming';
import { phaseOf, podStatus, type StatusInput } from '../../agent/node/pod-status';
import type { ObservedContainer } from '../../agent/node/types';
import { KUBELET_RESTART_BACKOFF } from '../../agent/runtime';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const web: Container = { name: 'web', image: 'reg/web:1', readinessProbe: { exec: { command: ['true'] } } };
const side: Container = { name: 'side', image: 'reg/side:1' };

const pod = (containers: Container[] = [web, side], restartPolicy: Pod['spec']['restartPolicy'] = 'Always'): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', uid: 'u-1' }, spec: { containers, restartPolicy, nodeName: 'n1' },
});

const observed = (c: Container, over: Partial<ObservedContainer> = {}): ObservedContainer => ({
  id: `id-${c.name}`, name: c.name, hash: containerHash(c), image: c.image, imageId: 'sha256:img', status: 'running', startedAt: iso(NOW - 5000), restartCount: 0, backoff: KUBELET_RESTART_BACKOFF, ...over,
});

const input = (over: Partial<StatusInput> = {}): StatusInput => ({
  pod: pod(), nodeIp: '10.0.0.5', podIp: '10.222.0.9', containers: [], images: {}, createFailures: {}, readiness: {}, startTime: iso(NOW - 10_000), now: NOW, ...over,
});

t.test('pending while pulling, with the reasons a user sees', async (t) => {
  const failed = { state: 'failed' as const, message: 'manifest unknown: manifest unknown', failedAt: NOW - 100, retryAt: NOW + 900 };
  const early = podStatus(input({ images: { web: failed, side: { state: 'pulling' } } }));
  t.equal(early.status.phase, 'Pending');
  t.same(early.status.containerStatuses![0]!.state, { waiting: { reason: 'ErrImagePull', message: 'manifest unknown: manifest unknown' } });
  t.same(early.status.containerStatuses![1]!.state, { waiting: { reason: 'ContainerCreating' } });
  t.equal(early.changesAt, NOW - 100 + 500, 'ErrImagePull turns into ImagePullBackOff halfway through the back-off');
  const later = podStatus(input({ images: { web: failed }, now: NOW + 500 }));
  t.equal(later.status.containerStatuses![0]!.state?.waiting?.reason, 'ImagePullBackOff');
  t.match(later.status.containerStatuses![0]!.state?.waiting?.message, /Back-off pulling image "reg\/web:1": manifest unknown/);
  const retrying = podStatus(input({ images: { web: { state: 'pulling', previousFailure: 'denied' } } }));
  t.equal(retrying.status.containerStatuses![0]!.state?.waiting?.reason, 'ImagePullBackOff', 'a retry under way still shows the back-off');
  t.equal(podStatus(input({ images: { web: { state: 'never', message: 'not present' } } })).status.containerStatuses![0]!.state?.waiting?.reason, 'ErrImageNeverPull');
  t.equal(podStatus(input({ images: { web: { state: 'present', imageId: 'x' } }, createFailures: { web: { message: 'bad memory', retryAt: NOW } } })).status.containerStatuses![0]!.state?.waiting?.reason, 'CreateContainerError');
});

t.test('running and ready: readiness drives ContainersReady and Ready', async (t) => {
  const containers = [observed(web), observed(side)];
  const notReady = podStatus(input({ containers, readiness: { web: false } })).status;
  t.equal(notReady.phase, 'Running');
  t.equal(notReady.podIP, '10.222.0.9');
  t.equal(notReady.hostIP, '10.0.0.5');
  t.same(notReady.containerStatuses!.map((s) => [s.name, s.ready, s.containerID]), [['web', false, 'berth://id-web'], ['side', true, 'berth://id-side']]);
  const ready = notReady.conditions!.find((c) => c.type === 'Ready')!;
  t.equal(ready.status, 'False');
  t.equal(ready.message, 'containers with unready status: [web]');
  t.equal(ready.lastTransitionTime, iso(NOW));

  const later = podStatus(input({ containers, readiness: { web: true }, previous: notReady, now: NOW + 3000 })).status;
  t.same(later.conditions!.map((c) => [c.type, c.status]), [['PodScheduled', 'True'], ['Initialized', 'True'], ['ContainersReady', 'True'], ['Ready', 'True']]);
  t.equal(later.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime, iso(NOW + 3000), 'moved when the status moved');
  t.equal(later.conditions!.find((c) => c.type === 'Initialized')!.lastTransitionTime, iso(NOW), 'kept while the status stays');
  const again = podStatus(input({ containers, readiness: { web: true }, previous: later, now: NOW + 9000 })).status;
  t.same(again, later, 'nothing changed: the same status, so nothing is sent');
});

t.test('crash loop: waiting CrashLoopBackOff with the last termination and the restart count', async (t) => {
  const crashing = observed(side, { status: 'restarting', exitCode: 3, startedAt: iso(NOW - 300), finishedAt: iso(NOW - 200), nextRestartAt: iso(NOW + 1400), restartCount: 4 });
  const s = podStatus(input({ containers: [observed(web), crashing], readiness: { web: true } })).status;
  const cs = s.containerStatuses![1]!;
  t.equal(cs.restartCount, 4);
  t.equal(cs.state?.waiting?.reason, 'CrashLoopBackOff');
  t.match(cs.state?.waiting?.message, /^back-off 1\.6s restarting failed container=side pod=p_ns\(u-1\)$/);
  t.same(cs.lastState?.terminated, { exitCode: 3, reason: 'Error', startedAt: iso(NOW - 300), finishedAt: iso(NOW - 200), containerID: 'berth://id-side' });
  t.equal(s.phase, 'Running', 'a container that will run again counts as running');
  const back = podStatus(input({ containers: [observed(side, { restartCount: 5, lastExit: { exitCode: 137, finishedAt: iso(NOW - 100) } })] , pod: pod([side]) })).status.containerStatuses![0]!;
  t.same(back.lastState, { terminated: { exitCode: 137, signal: 9, reason: 'Error', finishedAt: iso(NOW - 100), containerID: 'berth://id-side' } });
});

t.test('terminated for good: Succeeded and Failed', async (t) => {
  const done = (exitCode: number) => observed(side, { status: 'exited', exitCode, finishedAt: iso(NOW - 10) });
  t.equal(podStatus(input({ pod: pod([side], 'Never'), containers: [done(0)] })).status.phase, 'Succeeded');
  t.equal(podStatus(input({ pod: pod([side], 'Never'), containers: [done(1)] })).status.phase, 'Failed');
  t.equal(podStatus(input({ pod: pod([side], 'OnFailure'), containers: [done(0)] })).status.phase, 'Succeeded');
  t.equal(podStatus(input({ pod: pod([side], 'OnFailure'), containers: [done(1)] })).status.containerStatuses![0]!.state?.waiting?.reason, 'CrashLoopBackOff', 'OnFailure runs a failed container again');
  const oom = podStatus(input({ pod: pod([side], 'Never'), containers: [observed(side, { status: 'exited', exitCode: 137, error: 'OOMKilled' })] })).status.containerStatuses![0]!;
  t.equal(oom.state?.terminated?.reason, 'OOMKilled');
  const cannot = podStatus(input({ pod: pod([side], 'Never'), containers: [observed(side, { status: 'exited', exitCode: 127, error: 'exec: "nope": executable file not found in $PATH' })] })).status.containerStatuses![0]!;
  t.same([cannot.state?.terminated?.reason, cannot.state?.terminated?.message], ['StartError', 'exec: "nope": executable file not found in $PATH']);
  t.equal(phaseOf([], 'Always'), 'Pending');
});

t.test('init containers: Pending and not Initialized until each succeeded, app containers PodInitializing; a failure with Never fails the pod', async (t) => {
  const migrate: Container = { name: 'migrate', image: 'reg/tool:1' };
  const proxy: Container = { name: 'proxy', image: 'reg/proxy:1', restartPolicy: 'Always' };
  const withInit = (restartPolicy: Pod['spec']['restartPolicy'] = 'Always'): Pod => ({ ...pod([side], restartPolicy), spec: { ...pod([side], restartPolicy).spec, initContainers: [migrate, proxy] } });
  const running = podStatus(input({ pod: withInit(), containers: [observed(migrate)] })).status;
  t.equal(running.phase, 'Pending');
  t.same(running.initContainerStatuses!.map((s) => Object.keys(s.state!)[0]), ['running', 'waiting']);
  t.same(running.containerStatuses![0]!.state, { waiting: { reason: 'PodInitializing' } });
  t.match(running.conditions!.find((c) => c.type === 'Initialized'), { status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [migrate proxy]' });

  const done = podStatus(input({ pod: withInit(), containers: [observed(migrate, { status: 'exited', exitCode: 0, finishedAt: iso(NOW - 1000) }), observed(proxy), observed(side)] })).status;
  t.equal(done.phase, 'Running');
  t.match(done.conditions!.find((c) => c.type === 'Initialized'), { status: 'True' });
  t.same(done.initContainerStatuses![0]!.state?.terminated?.reason, 'Completed');
  t.equal(done.initContainerStatuses![1]!.started, true, 'the sidecar runs beside the app');

  const crashed = observed(migrate, { status: 'exited', exitCode: 3, finishedAt: iso(NOW - 1000) });
  t.equal(podStatus(input({ pod: withInit(), containers: [crashed] })).status.initContainerStatuses![0]!.state?.waiting?.reason, 'CrashLoopBackOff', 'retried with back-off');
  const never = podStatus(input({ pod: withInit('Never'), containers: [crashed] })).status;
  t.equal(never.phase, 'Failed', 'restartPolicy Never: the pod failed');
  t.equal(never.initContainerStatuses![0]!.state?.terminated?.reason, 'Error');
});
