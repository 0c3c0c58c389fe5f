// Restart decisions: pure functions of the policy, the exit, and the history. The wait before an
// automatic restart doubles for a container that keeps failing, up to a cap, and starts over once
// a run lasted long enough; docker's numbers by default, the kubelet's for pods.

import { BerthError } from '../../proto/errors';
import type { ContainerConfig, ContainerState, RestartBackoff } from './types';

/** docker's restart manager: 100 ms doubling to a minute, reset by a run of 10 s. */
export const DOCKER_RESTART_BACKOFF: RestartBackoff = { initialMs: 100, maxMs: 60_000, resetAfterMs: 10_000 };
/** The kubelet's CrashLoopBackOff: 10 s doubling to 5 min, reset by a run of 10 min. */
export const KUBELET_RESTART_BACKOFF: RestartBackoff = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

export type RestartDecision =
  | { restart: false; reason: string }
  | { restart: true; delayMs: number };

export function decideRestart(config: ContainerConfig, state: ContainerState): RestartDecision {
  const { name, maximumRetryCount } = config.restart;
  if (state.stoppedByUser) return { restart: false, reason: 'stopped by the user' };
  if (name === 'no') return { restart: false, reason: 'restart policy "no"' };
  if (name === 'on-failure') {
    if ((state.exitCode ?? 0) === 0) return { restart: false, reason: 'exited successfully' };
    if (maximumRetryCount > 0 && state.restartCount >= maximumRetryCount) {
      return { restart: false, reason: `gave up after ${state.restartCount} restarts` };
    }
  }
  return { restart: true, delayMs: nextRestartDelay(config.restart.backoff ?? DOCKER_RESTART_BACKOFF, state) };
}

/**
 * The wait before restarting a container whose run just ended: the initial delay after a first
 * failure or after a run of at least `resetAfterMs`, else the previous wait doubled, capped.
 */
export function restartDelay(policy: RestartBackoff, ranMs: number, previousDelayMs: number | undefined): number {
  if (previousDelayMs === undefined || ranMs >= policy.resetAfterMs) return policy.initialMs;
  return Math.min(policy.maxMs, Math.max(policy.initialMs, previousDelayMs * 2));
}

/** How long the run that ended lasted (0 when it never started). */
export function ranFor(state: Pick<ContainerState, 'startedAt' | 'finishedAt'>): number {
  const started = Date.parse(state.startedAt ?? '');
  const finished = Date.parse(state.finishedAt ?? '');
  return Number.isNaN(started) || Number.isNaN(finished) ? 0 : Math.max(0, finished - started);
}

export function nextRestartDelay(policy: RestartBackoff, state: Pick<ContainerState, 'startedAt' | 'finishedAt' | 'restartDelayMs'>): number {
  return restartDelay(policy, ranFor(state), state.restartDelayMs);
}

/** docker run's --restart value: no | on-failure[:N] | always | unless-stopped. */
export function parseRestartPolicy(value: string): ContainerConfig['restart'] {
  const [name, count, extra] = value.split(':');
  const valid = ['no', 'on-failure', 'always', 'unless-stopped'];
  if (!name || !valid.includes(name) || extra !== undefined) {
    throw new BerthError('invalid-argument', `invalid restart policy "${value}": expected no, on-failure[:N], always or unless-stopped`);
  }
  if (count !== undefined && (name !== 'on-failure' || !/^\d+$/.test(count))) {
    throw new BerthError('invalid-argument', `invalid restart policy "${value}": only on-failure takes a retry count`);
  }
  return { name: name as ContainerConfig['restart']['name'], maximumRetryCount: count ? Number(count) : 0 };
}
