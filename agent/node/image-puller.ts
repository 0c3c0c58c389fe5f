// Pulls for pods: one pull per image at a time however many pods want it, different images in
// parallel (a large image never holds up a small one), and per image an exponential back-off
// after failures, shared by every pod that wants it.

import type { Container, PullPolicy } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { familiarString, parseReference } from '../oci';
import type { ImageRecord, ImageService } from '../images';
import type { Credentials } from '../images/registry';
import { backoffDelay, PULL_BACKOFF } from './backoff';
import type { Clock } from './types';

export interface PullFailure {
  message: string;
  failedAt: number;
  retryAt: number;
  /** Failures in a row. */
  failures: number;
}

/** The reference as the image store names it (busybox -> busybox:latest); invalid-argument when it is not one. */
export function canonicalImage(image: string): string {
  const ref = parseReference(image);
  return ref.digest ? image : familiarString({ ...ref, tag: ref.tag ?? 'latest' });
}

/**
 * Pulls and their failures are shared by the pods that pull an image with the same credentials
 * (`scope`: their imagePullSecrets' names): a pod with a Secret does not wait out the back-off of
 * a pod without one, nor joins its doomed pull.
 */
const pullKey = (image: string, scope: string): string => (scope ? `${canonicalImage(image)}\n${scope}` : canonicalImage(image));

/** Kubernetes' default: Always for :latest or no tag, IfNotPresent otherwise. */
export function pullPolicyOf(container: Container): PullPolicy {
  if (container.imagePullPolicy) return container.imagePullPolicy;
  try {
    const ref = parseReference(container.image);
    return !ref.digest && (ref.tag === undefined || ref.tag === 'latest') ? 'Always' : 'IfNotPresent';
  } catch {
    return 'IfNotPresent';
  }
}

/**
 * A failure record nobody has retried for this long is dropped: no pod wants that image any more
 * (a retry comes at most a back-off cap after the failure), and records of names once mistyped
 * must not pile up for the life of the agent.
 */
export const STALE_FAILURE_MS = 10 * PULL_BACKOFF.maxMs;

export class ImagePuller {
  private readonly inflight = new Map<string, Promise<ImageRecord>>();
  private readonly failures = new Map<string, PullFailure>();

  constructor(private readonly images: Pick<ImageService, 'pull' | 'resolve'>, private readonly clock: Clock) {}

  /** The image on the host under this name, if any. */
  present(image: string): ImageRecord | undefined {
    try {
      return this.images.resolve(canonicalImage(image));
    } catch (err) {
      if (err instanceof BerthError && (err.code === 'not-found' || err.code === 'invalid-argument')) return undefined;
      throw err;
    }
  }

  isPulling(image: string, scope = ''): boolean {
    return this.inflight.has(pullKey(image, scope));
  }

  /** The last pull's failure while the image has not been pulled since (with the same credentials). */
  failure(image: string, scope = ''): PullFailure | undefined {
    return this.failures.get(pullKey(image, scope));
  }

  /**
   * Pull, or join the pull of the same image under way. `credentials`: the pod's imagePullSecrets,
   * tried first. Rejects with the registry's error.
   */
  pull(image: string, credentials?: ReadonlyMap<string, Credentials>, scope = ''): Promise<ImageRecord> {
    const key = pullKey(image, scope);
    this.pruneFailures();
    const running = this.inflight.get(key);
    if (running) return running;
    const pulling = this.images.pull(canonicalImage(image), credentials?.size ? { credentials } : {}).then(
      (record) => {
        this.failures.delete(key);
        return record;
      },
      (err: unknown) => {
        const failures = (this.failures.get(key)?.failures ?? 0) + 1;
        const failedAt = this.clock.now();
        this.failures.set(key, { message: (err as Error).message, failedAt, retryAt: failedAt + backoffDelay(PULL_BACKOFF, failures), failures });
        throw err;
      },
    ).finally(() => this.inflight.delete(key));
    this.inflight.set(key, pulling);
    return pulling;
  }

  private pruneFailures(): void {
    const now = this.clock.now();
    for (const [key, f] of this.failures) if (now - f.failedAt > STALE_FAILURE_MS) this.failures.delete(key);
  }
}
