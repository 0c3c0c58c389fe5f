// Events: what happened to an object, for `describe` and `get events`. Repeats of the same
// reason and message on the same object fold into one Event with a count, as Kubernetes does.

import { createHash } from 'node:crypto';
import type { Event, ObjectReference } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import type { Registry } from './registry';

export interface EventRecord {
  involvedObject: ObjectReference;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  source: { component: string; host?: string };
}

export type EventRecorder = (record: EventRecord) => void;

export async function recordEvent(registry: Registry, record: EventRecord, now: Date = new Date()): Promise<void> {
  const involved = record.involvedObject;
  const namespace = involved.namespace || 'default';
  const digest = createHash('sha256')
    .update(`${involved.kind}\0${involved.uid ?? ''}\0${record.reason}\0${record.message}\0${record.source.component}`)
    .digest('hex').slice(0, 10);
  const name = `${involved.name}.${digest}`;
  const timestamp = now.toISOString();
  const updated = await registry.mutate<Event>('Event', namespace, name, (current) => ({
    ...current,
    count: (current.count ?? 1) + 1,
    lastTimestamp: timestamp,
  }));
  if (updated) return;
  const event: Event = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace },
    involvedObject: involved,
    reason: record.reason,
    message: record.message,
    type: record.type,
    count: 1,
    firstTimestamp: timestamp,
    lastTimestamp: timestamp,
    source: record.source,
  };
  await registry.create(event).catch(async (err: unknown) => {
    // Two reporters raced to create it: count this one on the winner.
    if (err instanceof BerthError && err.code === 'already-exists') {
      await registry.mutate<Event>('Event', namespace, name, (c) => ({ ...c, count: (c.count ?? 1) + 1, lastTimestamp: timestamp }));
      return;
    }
    throw err;
  });
}

/** A recorder that never throws nor blocks its caller: events are best effort. */
export function eventRecorder(registry: Registry, clock: () => Date = () => new Date()): EventRecorder {
  return (record) => {
    recordEvent(registry, record, clock()).catch((err: unknown) => {
      if (!(err instanceof BerthError && err.code === 'not-found')) console.error('recording an event failed:', err);
    });
  };
}
