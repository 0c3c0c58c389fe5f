// Exponential back-off: a pure function of the number of failures so far.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** Image pulls: 1 s, 2 s, 4 s ... capped at a minute (Kubernetes: 10 s to 5 min). */
export const PULL_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 60_000 };
/** Creates that fail, a worker's failed passes, a lost connection. */
export const RETRY_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000 };

/** The delay before try number `failures + 1`, after `failures` (>= 1) failures in a row. */
export function backoffDelay(policy: BackoffPolicy, failures: number): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
}
