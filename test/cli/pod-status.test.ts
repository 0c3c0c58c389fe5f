// A pod's STATUS, READY and RESTARTS as kubectl computes them, and which pod states fail a wait.

import t from 'tap';
import type { ContainerStatus, Pod, PodStatus } from '../../proto/resources';
import { podColumns, podFailure, podReady } from '../../cli/cluster/pod-status';

const NOW = new Date('2024-05-01T12:00:00Z');

function pod(status: PodStatus | undefined, extra: { deleting?: boolean; containers?: number } = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'web-1', ...(extra.deleting ? { deletionTimestamp: '2024-05-01T11:59:00Z' } : {}) },
    spec: { containers: Array.from({ length: extra.containers ?? 1 }, (_, i) => ({ name: `c${i}`, image: 'busybox' })) },
    ...(status ? { status } : {}),
  };
}

const running = (name: string, ready = true, restartCount = 0): ContainerStatus => ({ name, image: 'busybox', ready, restartCount, state: { running: { startedAt: '2024-05-01T11:00:00Z' } } });
const waiting = (name: string, reason: string, message = ''): ContainerStatus => ({ name, image: 'busybox', ready: false, restartCount: 0, state: { waiting: { reason, message } } });

t.test('STATUS: the telling container reason over the phase', async (t) => {
  const cases: Array<[string, Pod, string]> = [
    ['no status yet', pod(undefined), 'Pending'],
    ['pending, unscheduled', pod({ phase: 'Pending' }), 'Pending'],
    ['creating', pod({ phase: 'Pending', containerStatuses: [waiting('c0', 'ContainerCreating')] }), 'ContainerCreating'],
    ['image pull back-off', pod({ phase: 'Pending', containerStatuses: [waiting('c0', 'ImagePullBackOff')] }), 'ImagePullBackOff'],
    ['crash loop', pod({ phase: 'Running', containerStatuses: [waiting('c0', 'CrashLoopBackOff')] }), 'CrashLoopBackOff'],
    ['running', pod({ phase: 'Running', containerStatuses: [running('c0')] }), 'Running'],
    ['completed', pod({ phase: 'Succeeded', containerStatuses: [{ name: 'c0', image: 'b', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] }), 'Completed'],
    ['exit code without reason', pod({ phase: 'Failed', containerStatuses: [{ name: 'c0', image: 'b', ready: false, restartCount: 0, state: { terminated: { exitCode: 3 } } }] }), 'ExitCode:3'],
    ['killed by a signal', pod({ phase: 'Failed', containerStatuses: [{ name: 'c0', image: 'b', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, signal: 9 } } }] }), 'Signal:9'],
    ['the first container\'s reason wins', pod({ phase: 'Pending', containerStatuses: [waiting('c0', 'ErrImagePull'), waiting('c1', 'ContainerCreating')] }, { containers: 2 }), 'ErrImagePull'],
    ['one completed beside a running one, pod ready', pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [
      { name: 'c0', image: 'b', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }, running('c1'),
    ] }, { containers: 2 }), 'Running'],
    ['one completed beside a running one, pod not ready', pod({ phase: 'Running', containerStatuses: [
      { name: 'c0', image: 'b', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }, running('c1'),
    ] }, { containers: 2 }), 'NotReady'],
    ['being deleted', pod({ phase: 'Running', containerStatuses: [running('c0')] }, { deleting: true }), 'Terminating'],
    ['deleted after it finished', pod({ phase: 'Succeeded' }, { deleting: true }), 'Succeeded'],
    ['pod reason (evicted)', pod({ phase: 'Failed', reason: 'Evicted' }), 'Evicted'],
  ];
  for (const [what, p, want] of cases) t.equal(podColumns(p, NOW).status, want, what);
});

t.test('READY counts ready running containers of all; RESTARTS says when', async (t) => {
  const p = pod({ phase: 'Running', containerStatuses: [running('c0', true, 2), running('c1', false, 1)] }, { containers: 3 });
  t.equal(podColumns(p, NOW).ready, '1/3');
  t.equal(podColumns(p, NOW).restarts, '3');
  const restarted = pod({ phase: 'Running', containerStatuses: [{ ...running('c0', true, 4), lastState: { terminated: { exitCode: 1, finishedAt: '2024-05-01T11:58:00Z' } } }] });
  t.equal(podColumns(restarted, NOW).restarts, '4 (2m ago)');
});

t.test('podFailure: stuck reasons and unschedulable fail fast; the rest waits', async (t) => {
  t.same(podFailure(pod({ phase: 'Pending', containerStatuses: [waiting('c0', 'ImagePullBackOff', 'Back-off pulling image "nope:1"')] })),
    { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nope:1"' });
  t.same(podFailure(pod({ phase: 'Running', containerStatuses: [waiting('c0', 'CrashLoopBackOff', 'back-off 10s')] }))?.reason, 'CrashLoopBackOff');
  t.same(podFailure(pod({ phase: 'Pending', containerStatuses: [waiting('c0', 'ErrImagePull')] }))?.reason, 'ErrImagePull');
  t.same(podFailure(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available: 2 Insufficient cpu.' }] })),
    { reason: 'Unschedulable', message: '0/2 nodes are available: 2 Insufficient cpu.' });
  t.equal(podFailure(pod({ phase: 'Pending', containerStatuses: [waiting('c0', 'ContainerCreating')] })), undefined);
  t.equal(podFailure(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] })), undefined);
});

t.test('podReady: Running and Ready, not being deleted', async (t) => {
  t.ok(podReady(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [running('c0')] })));
  t.notOk(podReady(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }], containerStatuses: [running('c0')] })));
  t.ok(podReady(pod({ phase: 'Running', containerStatuses: [running('c0')] })), 'without a Ready condition, every container ready');
  t.notOk(podReady(pod({ phase: 'Running', containerStatuses: [running('c0', false)] })));
  t.notOk(podReady(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }, { deleting: true })));
  t.notOk(podReady(pod({ phase: 'Pending' })));
});

t.test("STATUS and READY with init containers, as kubectl's printPod", async (t) => {
  const terminated = (name: string, exitCode: number, reason?: string): ContainerStatus => ({ name, image: 'b', ready: false, restartCount: 0, state: { terminated: { exitCode, ...(reason ? { reason } : {}) } } });
  const withInit = (status: PodStatus): Pod => ({
    ...pod(status),
    spec: { containers: [{ name: 'c0', image: 'busybox' }], initContainers: [{ name: 'i0', image: 'b' }, { name: 'i1', image: 'b' }, { name: 'proxy', image: 'b', restartPolicy: 'Always' }] },
  });
  const notInit = [{ type: 'Initialized', status: 'False' as const }];
  t.equal(podColumns(withInit({ phase: 'Pending', conditions: notInit, initContainerStatuses: [running('i0'), waiting('i1', 'PodInitializing'), waiting('proxy', 'PodInitializing')], containerStatuses: [waiting('c0', 'PodInitializing')] }), NOW).status, 'Init:0/3');
  t.equal(podColumns(withInit({ phase: 'Pending', conditions: notInit, initContainerStatuses: [terminated('i0', 0, 'Completed'), running('i1'), waiting('proxy', 'PodInitializing')], containerStatuses: [waiting('c0', 'PodInitializing')] }), NOW).status, 'Init:1/3');
  t.equal(podColumns(withInit({ phase: 'Pending', conditions: notInit, initContainerStatuses: [waiting('i0', 'CrashLoopBackOff')], containerStatuses: [] }), NOW).status, 'Init:CrashLoopBackOff');
  t.equal(podColumns(withInit({ phase: 'Failed', conditions: notInit, initContainerStatuses: [terminated('i0', 1, 'Error')], containerStatuses: [] }), NOW).status, 'Init:Error');
  const up = podColumns(withInit({ phase: 'Running', conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }], initContainerStatuses: [terminated('i0', 0, 'Completed'), terminated('i1', 0, 'Completed'), { ...running('proxy'), started: true }], containerStatuses: [running('c0')] }), NOW);
  t.same([up.status, up.ready], ['Running', '2/2'], 'a started sidecar counts in READY');
  t.same(podFailure(withInit({ phase: 'Pending', initContainerStatuses: [waiting('i0', 'CrashLoopBackOff', 'back-off')] })), { reason: 'CrashLoopBackOff', message: 'back-off' }, 'a crash-looping init container fails a wait');
});
