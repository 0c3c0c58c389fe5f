// Restart back-off as pure functions: docker's for `berth run --restart`, the kubelet's for pods,
// doubled per failure, capped, and started over after a long enough run. No clocks, no sleeps.

import t from 'tap';
import { DOCKER_RESTART_BACKOFF, KUBELET_RESTART_BACKOFF, nextRestartDelay, restartDelay } from '../../agent/runtime';
import { decideRestart } from '../../agent/runtime/restart';
import type { ContainerConfig, ContainerState, RestartBackoff } from '../../agent/runtime';

/** The waits of `failures` crashes in a row, each run lasting `ranMs`. */
function sequence(policy: RestartBackoff, failures: number, ranMs = 1000): number[] {
  const waits: number[] = [];
  let previous: number | undefined;
  for (let i = 0; i < failures; i++) waits.push((previous = restartDelay(policy, ranMs, previous)));
  return waits;
}

t.test("pods: the kubelet's 10 s doubling to 5 min, reset after 10 min running", async (t) => {
  t.same(sequence(KUBELET_RESTART_BACKOFF, 8), [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  t.equal(restartDelay(KUBELET_RESTART_BACKOFF, 600_000, 300_000), 10_000, 'a run of 10 min starts over');
  t.equal(restartDelay(KUBELET_RESTART_BACKOFF, 599_999, 300_000), 300_000, 'a run just short of it does not');
  t.equal(restartDelay(KUBELET_RESTART_BACKOFF, 600_000, 300_000) * 2, restartDelay(KUBELET_RESTART_BACKOFF, 1000, 10_000), 'and the next crash doubles from there');
});

t.test("berth run --restart: docker's 100 ms doubling to a minute, reset after 10 s running", async (t) => {
  t.same(sequence(DOCKER_RESTART_BACKOFF, 12, 50), [100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 60_000, 60_000]);
  t.equal(restartDelay(DOCKER_RESTART_BACKOFF, 10_000, 60_000), 100);
});

t.test('from a container record: how long the run lasted, the wait before it, and the policy it was made with', async (t) => {
  const state = (over: Partial<ContainerState>): ContainerState => ({ status: 'exited', pid: 0, restartCount: 3, stoppedByUser: false, exitCode: 1, ...over });
  const ran = (ms: number) => ({ startedAt: '2026-01-01T00:00:00.000Z', finishedAt: new Date(Date.parse('2026-01-01T00:00:00.000Z') + ms).toISOString() });
  t.equal(nextRestartDelay(KUBELET_RESTART_BACKOFF, state({ ...ran(5), restartDelayMs: 40_000 })), 80_000);
  t.equal(nextRestartDelay(KUBELET_RESTART_BACKOFF, state({ ...ran(700_000), restartDelayMs: 40_000 })), 10_000);
  t.equal(nextRestartDelay(KUBELET_RESTART_BACKOFF, state({})), 10_000, 'never started, no earlier wait: the first');

  const config = (restart: ContainerConfig['restart']) => ({ restart } as ContainerConfig);
  t.same(decideRestart(config({ name: 'always', maximumRetryCount: 0 }), state({ ...ran(5), restartDelayMs: 400 })), { restart: true, delayMs: 800 }, "no back-off recorded: docker's");
  t.same(decideRestart(config({ name: 'always', maximumRetryCount: 0, backoff: KUBELET_RESTART_BACKOFF }), state({ ...ran(5), restartDelayMs: 20_000 })), { restart: true, delayMs: 40_000 });
  t.same(decideRestart(config({ name: 'on-failure', maximumRetryCount: 3, backoff: KUBELET_RESTART_BACKOFF }), state({})), { restart: false, reason: 'gave up after 3 restarts' });
  t.same(decideRestart(config({ name: 'always', maximumRetryCount: 0 }), state({ stoppedByUser: true })), { restart: false, reason: 'stopped by the user' });
});
