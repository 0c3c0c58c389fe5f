// Events about pods (Pulling, Pulled, Failed, BackOff, Created, Started, Killing, Unhealthy) on
// their way to the controller: best effort, in order, a bounded queue; an event that cannot be
// delivered after a few tries is dropped (the pod's status says the same, and is not dropped).

import type { Event } from '../../proto/resources';
import { backoffDelay, RETRY_BACKOFF } from './backoff';
import type { Clock, PodRef } from './types';

const MAX_QUEUED = 1000;
const MAX_TRIES = 5;

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly queue: Array<{ event: Event; tries: number }> = [];
  private draining = false;
  private stopped = false;
  private sequence = 0;

  constructor(
    private readonly send: (event: Event) => Promise<void>,
    private readonly nodeName: string,
    private readonly clock: Clock,
  ) {}

  record(pod: PodRef, type: EventType, reason: string, message: string, container?: string): void {
    if (this.stopped) return;
    const now = new Date(this.clock.now()).toISOString();
    const event: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${pod.name}.${(this.clock.now() * 1000 + (this.sequence++ % 1000)).toString(16)}`, namespace: pod.namespace },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        name: pod.name,
        namespace: pod.namespace,
        uid: pod.uid,
        ...(container ? { fieldPath: `spec.containers{${container}}` } : {}),
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: 'berth-agent', host: this.nodeName },
    };
    if (this.queue.length >= MAX_QUEUED) this.queue.shift();
    this.queue.push({ event, tries: 0 });
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    void this.drain().finally(() => {
      this.draining = false;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const item = this.queue[0]!;
      try {
        await this.send(item.event);
        this.queue.shift();
      } catch {
        item.tries++;
        if (item.tries >= MAX_TRIES) this.queue.shift();
        await new Promise((r) => setTimeout(r, backoffDelay(RETRY_BACKOFF, item.tries)).unref());
      }
    }
  }
}
