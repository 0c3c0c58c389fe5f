// Restart decisions: pure functions of the policy, the exit, and the history. Back-off grows
// exponentially for a container that keeps failing, capped, and resets once a run lasted long
// enough (as Kubernetes' CrashLoopBackOff does).

import { BerthError } from '../../proto/errors';
import type { ContainerConfig, ContainerState } from './types';

export const BACKOFF_INITIAL_MS = 100;
export const BACKOFF_MAX_MS = 60_000;
/** A run at least this long counts as healthy: the next failure starts the back-off again. */
export const BACKOFF_RESET_AFTER_MS = 10_000;

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
  return { restart: true, delayMs: backoff(state) };
}

/** 100 ms, 200 ms, 400 ms ... capped at a minute; back to the start after a healthy run. */
export function backoff(state: ContainerState): number {
  const ran = state.startedAt && state.finishedAt ? Date.parse(state.finishedAt) - Date.parse(state.startedAt) : 0;
  if (ran >= BACKOFF_RESET_AFTER_MS) return BACKOFF_INITIAL_MS;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** Math.min(state.restartCount, 20));
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
