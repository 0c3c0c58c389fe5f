// Deletion as users ask for it: owned objects go with their owner through the garbage collector;
// a namespace takes everything in it along at once. The system's own namespaces stay.

import { customKinds, KINDS, type Namespace, type Resource } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { ignoreNotFound } from './errors';
import type { Registry } from './registry';

/** Namespaces the controller keeps: `default` and `berth-*` (node leases, the controller lease). */
const isSystemNamespace = (name: string): boolean => name === 'default' || name.startsWith('berth-');

export async function deleteWithDependents(registry: Registry, kind: string, namespace: string | undefined, name: string): Promise<Resource[]> {
  const deleted: Resource[] = [];
  if (kind === 'Namespace') {
    if (isSystemNamespace(name)) {
      throw new BerthError('failed-precondition', `namespace "${name}" is kept by the system and cannot be deleted`);
    }
    // Every namespaced kind: workloads first (so that none makes pods again), pods, events last.
    const first = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job', 'ReplicaSet', 'ReplicationController', 'Pod'];
    const rest = [...KINDS, ...customKinds()].filter((k) => k.namespaced && !first.includes(k.kind) && k.kind !== 'Event').map((k) => k.kind);
    for (const k of [...first, ...rest, 'Event']) {
      const { items } = await registry.list(k, { namespace: name });
      for (const o of items) {
        await registry.delete(k, name, o.metadata.name!, { force: k !== 'Pod' }).catch(ignoreNotFound);
      }
    }
  }
  deleted.push(await registry.delete(kind, namespace, name));
  return deleted;
}

/** Create a namespace unless it exists (a controller starting beside others may race to it). */
export async function ensureNamespace(registry: Registry, name: string): Promise<void> {
  if (await registry.tryGet('Namespace', undefined, name)) return;
  const ns: Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase: 'Active' } };
  await registry.create(ns).catch((err: unknown) => {
    if (!(err instanceof BerthError && err.code === 'already-exists')) throw err;
  });
}
