// Runs `lead` while this controller holds the controller lease (namespace berth-system, name
// berth-controller), so that several controllers on one etcd run one set of control loops. The
// API servers all serve; only the leader reconciles. Leadership ends at the latest when a renewal
// could not be written for a whole lease duration (counted on our own clock, from before the
// write), so the loops stop before anyone else may take over. That clock is not trusted alone
// (a paused process does not know it was paused): `lead` gets a fence, the lease at the revision
// this controller last wrote it, and the controllers' writes carry it, so that the store refuses
// them once anyone else has written the lease.
//
// Imports: objects/ (the lease is an object) and proto/; decide.ts is the pure decision. It knows
// nothing of what it runs: server.ts hands it the controllers as `lead`.

import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import type { Lease } from '../../proto/resources';
import { keyOfObject, type Clock, type Registry } from '../objects';
import type { Fence } from '../store';
import { BerthError } from '../../proto/errors';
import { decide } from './decide';

export const CONTROLLER_LEASE_NAMESPACE = 'berth-system';
export const CONTROLLER_LEASE_NAME = 'berth-controller';

export interface LeaderElectionOptions {
  registry: Registry;
  clock: Clock;
  durationMs: number;
  /** Called on gaining leadership with the fence for its writes; returns how to stop what it started. */
  lead: (fence: () => Fence | undefined) => Promise<() => void>;
  log?: (line: string) => void;
}

export interface LeaderElection {
  readonly identity: string;
  isLeader(): boolean;
  stop(): void;
}

export function electLeader(options: LeaderElectionOptions): LeaderElection {
  const { registry, clock, durationMs } = options;
  const log = options.log ?? (() => {});
  const identity = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const renewEveryMs = Math.max(50, Math.floor(durationMs / 3));
  let stopLeading: (() => void) | undefined;
  let leading = false;
  /** Until when our last successful write holds the lease. */
  let heldUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  /** The lease as this controller last wrote it: the condition of the controllers' writes. */
  let fence: Fence | undefined;

  const resign = (why: string) => {
    if (!leading) return;
    leading = false;
    // No revision matches -1: whatever the stopped loops still try to write is refused.
    if (fence) fence = { ...fence, modRevision: -1 };
    stopLeading?.();
    stopLeading = undefined;
    log(`berth controller: no longer the leader (${why})`);
  };

  const attempt = async (): Promise<number> => {
    // Measured before the write: the lease we write runs from no later than this.
    const now = clock();
    const stamp = now.toISOString();
    try {
      const lease = await registry.tryGet<Lease>('Lease', CONTROLLER_LEASE_NAMESPACE, CONTROLLER_LEASE_NAME);
      const action = decide(lease, identity, now.getTime(), durationMs);
      if (action.type === 'wait') {
        resign('another controller holds the lease');
        return Math.min(action.retryMs, renewEveryMs);
      }
      const spec = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(durationMs / 1000), renewTime: stamp };
      let written: Lease;
      if (action.type === 'create') {
        written = await registry.create<Lease>({
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
          metadata: { name: CONTROLLER_LEASE_NAME, namespace: CONTROLLER_LEASE_NAMESPACE },
          spec: { ...spec, acquireTime: stamp, leaseTransitions: 0 },
        });
      } else {
        const taking = action.type === 'take-over';
        written = await registry.update<Lease>({
          ...lease!,
          spec: { ...lease!.spec, ...spec, ...(taking ? { acquireTime: stamp, leaseTransitions: (lease!.spec.leaseTransitions ?? 0) + 1 } : {}) },
        });
      }
      heldUntil = now.getTime() + durationMs;
      fence = { key: keyOfObject(written), modRevision: Number(written.metadata.resourceVersion) };
      if (!leading && !stopped) {
        leading = true;
        log(`berth controller: leading as ${identity}`);
        stopLeading = await options.lead(() => fence);
        if (stopped || !leading) {
          stopLeading();
          stopLeading = undefined;
        }
      }
    } catch (err) {
      // A conflict: someone else wrote first (they lead). Anything else: the store is away; we
      // keep leading only while our last renewal still holds.
      if (err instanceof BerthError && (err.code === 'conflict' || err.code === 'already-exists')) resign('another controller took the lease');
      else if (clock().getTime() >= heldUntil) resign(`the lease could not be renewed: ${(err as Error).message}`);
    }
    return renewEveryMs;
  };

  // A renewal stuck in a store call that does not return must not keep us leading past our lease.
  const watchdog = setInterval(() => {
    if (leading && clock().getTime() >= heldUntil) resign('the lease expired before it could be renewed');
  }, Math.max(10, Math.floor(renewEveryMs / 4)));
  watchdog.unref();

  const loop = () => {
    if (stopped) return;
    void attempt().then((delay) => {
      if (!stopped) timer = setTimeout(loop, delay);
    });
  };
  loop();

  return {
    identity,
    isLeader: () => leading,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      clearInterval(watchdog);
      resign('stopping');
    },
  };
}
