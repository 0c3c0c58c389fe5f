// Leader election over a Lease object (as Kubernetes' controllers elect a leader): whoever holds
// an unexpired lease runs the control loops; the holder renews it, others wait until it expires
// and then take it over with a compare-and-swap write, so at most one write wins.

import type { Lease } from '../../proto/resources';

export type LeaderAction =
  /** No lease yet: create it, holding it. */
  | { type: 'create' }
  /** We hold it: renew it. */
  | { type: 'renew' }
  /** Someone else held it and let it expire: take it over. */
  | { type: 'take-over' }
  /** Someone else holds it; look again in `retryMs`. */
  | { type: 'wait'; retryMs: number };

export function decide(lease: Lease | undefined, identity: string, now: number, durationMs: number): LeaderAction {
  if (!lease) return { type: 'create' };
  if (lease.spec.holderIdentity === identity) return { type: 'renew' };
  const renewed = Date.parse(lease.spec.renewTime ?? '');
  const expiresAt = (Number.isNaN(renewed) ? 0 : renewed) + durationMs;
  if (expiresAt <= now) return { type: 'take-over' };
  return { type: 'wait', retryMs: Math.max(10, expiresAt - now) };
}
