// The StorageClass a cluster starts with, as k3s ships its local-path class: the default, its
// volumes directories on the node of the claim's first pod, deleted with their claim.

import { DEFAULT_CLASS_ANNOTATION, LOCAL_PATH_CLASS, LOCAL_PATH_PROVISIONER, type StorageClass } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import type { Registry } from './registry';

/** Make the local-path class unless a class of that name exists (a user's changes to it are kept). */
export async function ensureDefaultStorageClass(registry: Registry): Promise<void> {
  if (await registry.tryGet('StorageClass', undefined, LOCAL_PATH_CLASS)) return;
  const sc: StorageClass = {
    apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
    metadata: { name: LOCAL_PATH_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } },
    provisioner: LOCAL_PATH_PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  };
  await registry.create(sc).catch((err: unknown) => {
    if (!(err instanceof BerthError && err.code === 'already-exists')) throw err;
  });
}
