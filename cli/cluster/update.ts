// Read-modify-write of one object, as kubectl's scale and rollout verbs do it: Get, change, Update
// with the resource version read; when someone else wrote in between (conflict), read again and
// redo the change, a few times.

import type { Resource } from '../../proto/resources';
import { isConflict } from './errors';
import type { ClusterClient } from './types';

export const UPDATE_ATTEMPTS = 5;

/**
 * `change` gets a fresh copy of the current object and returns the next one, or undefined when
 * there is nothing to do (then nothing is written). Returns what was stored and whether it wrote.
 */
export async function updateWithRetry<T extends Resource>(
  client: ClusterClient,
  kind: string,
  namespace: string | undefined,
  name: string,
  change: (current: T) => T | undefined,
): Promise<{ object: T; written: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const current = await client.get<T>(kind, namespace, name);
    const next = change(structuredClone(current));
    if (!next) return { object: current, written: false };
    try {
      return { object: await client.update(next), written: true };
    } catch (err) {
      if (!isConflict(err) || attempt >= UPDATE_ATTEMPTS) throw err;
    }
  }
}
