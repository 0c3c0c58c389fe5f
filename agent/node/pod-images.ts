// Image availability for one pod: where the image of each container still to be created stands
// (present, pulling, failed with back-off, never, invalid), and the background pulls the pod's
// worker starts. Pulls never block the worker: a pod does not wait in a pull queue behind another
// pod's image, and the worker is woken when a pull ends.

import type { Container, Pod } from '../../proto/resources';
import type { Credentials } from '../images/registry';
import type { EventRecorder } from './event-recorder';
import { canonicalImage, pullPolicyOf, type ImagePuller } from './image-puller';
import { containerHash, podContainers } from './naming';
import type { Clock, ImageAvailability, ObservedContainer, PodRef } from './types';

export interface PodImagesDeps {
  puller: ImagePuller;
  events: EventRecorder;
  clock: Clock;
  /** A pull ended: the worker looks again. */
  kick(): void;
  /** The pod's imagePullSecrets as credentials by registry host, and the names of those that could not be read. */
  pullCredentials?(): Promise<{ credentials: ReadonlyMap<string, Credentials>; missing: string[] }>;
  /** Whose credentials the pod pulls with (its imagePullSecrets' names): pulls are shared only within one. */
  pullScope?(): string;
}

export class PodImages {
  /** Images pulled for containers still to be created (pull policy Always pulls for each create). */
  private readonly pulled = new Map<string, { image: string; imageId: string }>();
  /** Pulls this pod waits for, by container name. */
  private readonly pulling = new Map<string, string>();

  constructor(private readonly ref: PodRef, private readonly d: PodImagesDeps) {}

  /** Whether the container's image was pulled for it (else it was already on the host). */
  pulledFor(container: string): boolean {
    return this.pulled.has(container);
  }

  /** The container was created: a later create (pull policy Always) pulls again. */
  created(container: string): void {
    this.pulled.delete(container);
  }

  private scope(): string {
    return this.d.pullScope?.() ?? '';
  }

  /** The pod's pull secrets; one that cannot be read is told (the kubelet's warning) and the pull goes on without it. */
  private async credentials(): Promise<ReadonlyMap<string, Credentials>> {
    if (!this.d.pullCredentials) return new Map();
    try {
      const { credentials, missing } = await this.d.pullCredentials();
      if (missing.length) this.d.events.record(this.ref, 'Warning', 'FailedToRetrieveImagePullSecret', `Unable to retrieve some image pull secrets (${missing.join(', ')}); attempting to pull the image may not succeed.`);
      return credentials;
    } catch (err) {
      this.d.events.record(this.ref, 'Warning', 'FailedToRetrieveImagePullSecret', `Unable to retrieve image pull secrets: ${(err as Error).message}; attempting to pull the image may not succeed.`);
      return new Map();
    }
  }

  start(container: string, image: string): void {
    if (this.pulling.has(container)) return;
    const { puller, events, clock } = this.d;
    this.pulling.set(container, image);
    const started = clock.now();
    events.record(this.ref, 'Normal', 'Pulling', `Pulling image "${image}"`, container);
    this.credentials().then((credentials) => puller.pull(image, credentials, this.scope())).then(
      (record) => {
        this.pulled.set(container, { image, imageId: record.id });
        events.record(this.ref, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${((clock.now() - started) / 1000).toFixed(3)}s`, container);
      },
      (err: unknown) => {
        events.record(this.ref, 'Warning', 'Failed', `Failed to pull image "${image}": ${(err as Error).message}`, container);
        events.record(this.ref, 'Warning', 'Failed', 'Error: ErrImagePull', container);
      },
    ).finally(() => {
      if (this.pulling.get(container) === image) this.pulling.delete(container);
      this.d.kick();
    });
  }

  /** Where the image of each container still to be made stands. */
  availability(pod: Pod, observed: ObservedContainer[]): Record<string, ImageAvailability> {
    const out: Record<string, ImageAvailability> = {};
    for (const spec of podContainers(pod)) {
      const current = observed.find((c) => c.name === spec.name);
      if (current && current.hash === containerHash(spec)) continue;
      out[spec.name] = this.imageOf(spec);
    }
    return out;
  }

  private imageOf(spec: Container): ImageAvailability {
    const { puller } = this.d;
    try {
      canonicalImage(spec.image);
    } catch (err) {
      return { state: 'invalid', message: `Failed to apply default image tag "${spec.image}": ${(err as Error).message}` };
    }
    const policy = pullPolicyOf(spec);
    if (this.pulling.get(spec.name) === spec.image) {
      const before = puller.failure(spec.image, this.scope());
      return { state: 'pulling', ...(before ? { previousFailure: before.message } : {}) };
    }
    const mine = this.pulled.get(spec.name);
    if (mine && mine.image === spec.image) return { state: 'present', imageId: mine.imageId };
    if (policy !== 'Always') {
      const record = puller.present(spec.image);
      if (record) return { state: 'present', imageId: record.id };
    }
    if (policy === 'Never') return { state: 'never', message: `Container image "${spec.image}" is not present with pull policy of Never` };
    const failure = puller.failure(spec.image, this.scope());
    if (failure) return { state: 'failed', message: failure.message, failedAt: failure.failedAt, retryAt: failure.retryAt };
    return { state: 'missing' };
  }
}
