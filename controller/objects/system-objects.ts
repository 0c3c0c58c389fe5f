// The objects a cluster starts with: the StorageClass k3s ships (local-path: the default, its
// volumes directories on the node of the claim's first pod, deleted with their claim) and the
// system PriorityClasses every Kubernetes cluster has, and the IngressClass of berth's own ingress
// controller (the default, as k3s makes traefik's). Made when missing; changes kept.

import { DEFAULT_CLASS_ANNOTATION, DEFAULT_INGRESS_CLASS, DEFAULT_INGRESS_CLASS_ANNOTATION, INGRESS_CONTROLLER, LOCAL_PATH_CLASS, LOCAL_PATH_PROVISIONER, type Resource, type StorageClass } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { SYSTEM_PRIORITY_CLASSES } from '../admission';
import type { Registry } from './registry';

export async function ensureSystemObjects(registry: Registry): Promise<void> {
  await ensureDefaultStorageClass(registry);
  await ensure(registry, {
    apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass',
    metadata: { name: DEFAULT_INGRESS_CLASS, annotations: { [DEFAULT_INGRESS_CLASS_ANNOTATION]: 'true' } },
    spec: { controller: INGRESS_CONTROLLER },
  });
  for (const pc of SYSTEM_PRIORITY_CLASSES) await ensure(registry, pc);
}

/** Make the local-path class unless a class of that name exists (a user's changes to it are kept). */
async function ensureDefaultStorageClass(registry: Registry): Promise<void> {
  const sc: StorageClass = {
    apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
    metadata: { name: LOCAL_PATH_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } },
    provisioner: LOCAL_PATH_PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  };
  await ensure(registry, sc);
}

async function ensure(registry: Registry, obj: Resource): Promise<void> {
  if (await registry.tryGet(obj.kind, undefined, obj.metadata.name!)) return;
  await registry.create(obj).catch((err: unknown) => {
    if (!(err instanceof BerthError && err.code === 'already-exists')) throw err;
  });
}
