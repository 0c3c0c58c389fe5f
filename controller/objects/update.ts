// A user's replacement of an object (`berth edit`, `cordon`): validated and defaulted as apply
// does, based on the resourceVersion it carries, keeping the stored status (a spec write must not
// undo a status write). A pod whose spec it changes is admitted again by its namespace's Pod
// Security level, as Kubernetes admits pod updates: otherwise an update would be a way around it.

import { isDeepStrictEqual } from 'node:util';
import type { Namespace, Node, NodeSpec, Pod, Resource } from '../../proto/resources';
import { withDefaults } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { validateResource } from '../../proto/manifests';
import { admitPod } from '../admission';
import type { Registry } from './registry';

export async function updateByUser(registry: Registry, obj: Resource): Promise<Resource> {
  if (obj?.kind === 'Node') {
    // Nodes belong to their agents; a user may only change spec (cordon).
    const node = await registry.get(obj.kind, undefined, obj.metadata?.name ?? '');
    const spec = withTaintTimes((obj as Node).spec, registry.now());
    return registry.update({ ...node, spec, metadata: { ...node.metadata, resourceVersion: obj.metadata.resourceVersion } } as Resource, { keepStatus: true });
  }
  const issues = validateResource(obj);
  if (issues.length > 0) throw new BerthError('invalid-argument', issues.map((i) => i.message).join('\n'));
  const next = withDefaults(obj);
  if (next.kind === 'Pod') await admitChangedPod(registry, next);
  return registry.update(next, { keepStatus: true });
}

/** A NoExecute taint is stamped with the server's time when it comes (its tolerationSeconds count from then), as Kubernetes does. */
function withTaintTimes(spec: NodeSpec | undefined, now: string): NodeSpec | undefined {
  if (!spec?.taints) return spec;
  return { ...spec, taints: spec.taints.map((t) => (t.effect === 'NoExecute' && !t.timeAdded ? { ...t, timeAdded: now } : t)) };
}

/** The scheduler's binding (nodeName) is no change of what the pod asks for. */
async function admitChangedPod(registry: Registry, pod: Pod): Promise<void> {
  const namespace = pod.metadata.namespace || 'default';
  const current = await registry.tryGet<Pod>('Pod', namespace, pod.metadata.name ?? '');
  if (!current) return; // the update says not-found
  const asked = (p: Pod) => ({ ...p.spec, nodeName: undefined });
  if (isDeepStrictEqual(asked(current), asked(pod))) return;
  admitPod(pod, (await registry.tryGet<Namespace>('Namespace', undefined, namespace))?.metadata.labels);
}
