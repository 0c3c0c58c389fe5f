// A user's replacement of an object (`berth edit`, `cordon`): validated and defaulted as apply
// does, based on the resourceVersion it carries, keeping the stored status (a spec write must not
// undo a status write).

import type { Resource } from '../../proto/resources';
import { withDefaults } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { validateResource } from '../../proto/manifests';
import type { Registry } from './registry';

export async function updateByUser(registry: Registry, obj: Resource): Promise<Resource> {
  if (obj?.kind === 'Node') {
    // Nodes belong to their agents; a user may only change spec (cordon).
    const node = await registry.get(obj.kind, undefined, obj.metadata?.name ?? '');
    return registry.update({ ...node, spec: (obj as { spec?: object }).spec, metadata: { ...node.metadata, resourceVersion: obj.metadata.resourceVersion } } as Resource, { keepStatus: true });
  }
  const issues = validateResource(obj);
  if (issues.length > 0) throw new BerthError('invalid-argument', issues.map((i) => i.message).join('\n'));
  return registry.update(withDefaults(obj), { keepStatus: true });
}
