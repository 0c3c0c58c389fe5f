// ResourceQuota, pure: what an object uses of a namespace's quota (Kubernetes' evaluators), which
// quotas count it (scopes), and whether one more such object still fits.
//
// Usage by resource name: every object counts as one `count/<plural>[.<group>]`; pods (until they
// end) also as `pods` and by their requests and limits (`requests.cpu` = `cpu`,
// `requests.memory` = `memory`, `limits.cpu`, `limits.memory`); services as `services`,
// `services.nodeports` and `services.loadbalancers`; claims as `persistentvolumeclaims` and by
// `requests.storage`, also per class (`<class>.storageclass.storage.k8s.io/requests.storage`);
// configmaps, secrets, replicationcontrollers and resourcequotas by their names.

import { BerthError } from '../../proto/errors';
import { KINDS, podRequests, type Container, type PersistentVolumeClaim, type Pod, type ResourceQuota, type Resource, type Service } from '../../proto/resources';
import { amountOf, amounts, formatAmount } from './resource-amounts';

export type Usage = Map<string, number>;

const COUNTED_BY_NAME: Record<string, string> = {
  Pod: 'pods', Service: 'services', ConfigMap: 'configmaps', Secret: 'secrets', PersistentVolumeClaim: 'persistentvolumeclaims', ResourceQuota: 'resourcequotas',
  ReplicationController: 'replicationcontrollers',
};

/** `count/deployments.apps`, `count/pods`: the object-count name of a kind. */
export function countName(kind: string): string | undefined {
  const info = KINDS.find((k) => k.kind === kind);
  if (!info) return undefined;
  const group = info.apiVersion.includes('/') ? info.apiVersion.split('/')[0] : '';
  return `count/${info.plural}${group ? `.${group}` : ''}`;
}

const isEnded = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/** What one object uses. An ended pod uses nothing. */
export function usageOf(obj: Resource): Usage {
  const usage: Usage = new Map();
  if (obj.kind === 'Pod' && isEnded(obj)) return usage;
  const count = countName(obj.kind);
  if (count) usage.set(count, 1);
  const byName = COUNTED_BY_NAME[obj.kind];
  if (byName) usage.set(byName, 1);
  if (obj.kind === 'Pod') {
    const requests = podRequests(obj);
    const limits = podLimits(obj);
    if (requests.cpu) usage.set('requests.cpu', requests.cpu).set('cpu', requests.cpu);
    if (requests.memory) usage.set('requests.memory', requests.memory).set('memory', requests.memory);
    if (limits.cpu) usage.set('limits.cpu', limits.cpu);
    if (limits.memory) usage.set('limits.memory', limits.memory);
    // Extended resources are quoted by their requests (which equal their limits): requests.nvidia.com/gpu.
    for (const [name, n] of Object.entries(requests.extended ?? {})) usage.set(`requests.${name}`, n);
  } else if (obj.kind === 'Service') {
    const svc = obj as Service;
    const type = svc.spec.type ?? 'ClusterIP';
    if (type === 'NodePort' || type === 'LoadBalancer') usage.set('services.nodeports', svc.spec.ports?.length ?? 0);
    if (type === 'LoadBalancer') usage.set('services.loadbalancers', 1);
  } else if (obj.kind === 'PersistentVolumeClaim') {
    const claim = obj as PersistentVolumeClaim;
    const storage = claim.spec.resources?.requests?.storage;
    const cls = claim.spec.storageClassName;
    if (storage !== undefined) {
      usage.set('requests.storage', amountOf('storage', storage));
      if (cls) usage.set(`${cls}.storageclass.storage.k8s.io/requests.storage`, amountOf('storage', storage));
    }
    if (cls) usage.set(`${cls}.storageclass.storage.k8s.io/persistentvolumeclaims`, 1);
  }
  return usage;
}

/** A pod's limits: its pod-level ones where it has them, else as its requests are counted (the containers' sum, or the largest init container's if more). */
function podLimits(pod: Pod): { cpu: number; memory: number } {
  const level = pod.spec.resources?.limits;
  const aggregate = containersLimits(pod);
  return {
    cpu: level?.cpu !== undefined ? amountOf('cpu', level.cpu) : aggregate.cpu,
    memory: level?.memory !== undefined ? amountOf('memory', level.memory) : aggregate.memory,
  };
}

function containersLimits(pod: Pod): { cpu: number; memory: number } {
  const of = (c: Container, r: 'cpu' | 'memory') => (c.resources?.limits?.[r] !== undefined ? amountOf(r, c.resources.limits[r]!) : 0);
  const total = (r: 'cpu' | 'memory') => Math.max(
    pod.spec.containers.reduce((n, c) => n + of(c, r), 0) + (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').reduce((n, c) => n + of(c, r), 0),
    ...(pod.spec.initContainers ?? []).map((c) => of(c, r)),
  );
  return { cpu: total('cpu'), memory: total('memory') };
}

/** Whether a pod is best effort: no container asks for or limits anything. */
function isBestEffort(pod: Pod): boolean {
  // QoS looks at cpu and memory only (an extended resource does not make a pod burstable).
  const states = (list: Record<string, unknown> | undefined) => list?.cpu !== undefined || list?.memory !== undefined;
  return [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].every((c) => !states(c.resources?.requests) && !states(c.resources?.limits));
}

/** Whether the quota counts this object: a quota with scopes counts only pods in all of them. */
export function quotaCounts(quota: ResourceQuota, obj: Resource): boolean {
  const scopes = quota.spec.scopes ?? [];
  const selectors = quota.spec.scopeSelector?.matchExpressions ?? [];
  if (scopes.length === 0 && selectors.length === 0) return true;
  // The VolumeAttributesClass scope is the claims': those of a class (In/NotIn/Exists/DoesNotExist).
  if (obj.kind === 'PersistentVolumeClaim') {
    const name = (obj as PersistentVolumeClaim).spec.volumeAttributesClassName;
    return scopes.every((s) => s === 'VolumeAttributesClass' && name !== undefined)
      && selectors.every((s) => s.scopeName === 'VolumeAttributesClass' && namedIn(name, s.operator, s.values));
  }
  if (obj.kind !== 'Pod') return false;
  const pod = obj as Pod;
  const inScope = (scope: string): boolean => {
    switch (scope) {
      // Terminating pods are those with a pod-level activeDeadlineSeconds, which berth's pods do not have.
      case 'Terminating': return false;
      case 'NotTerminating': return true;
      case 'BestEffort': return isBestEffort(pod);
      case 'NotBestEffort': return !isBestEffort(pod);
      case 'PriorityClass': return pod.spec.priorityClassName !== undefined;
      // CrossNamespacePodAffinity: berth's affinity terms have no namespaces; VolumeAttributesClass is the claims'.
      default: return false;
    }
  };
  if (!scopes.every(inScope)) return false;
  return selectors.every((s) => {
    if (s.scopeName === 'PriorityClass') return namedIn(pod.spec.priorityClassName, s.operator, s.values);
    return s.operator === 'DoesNotExist' ? !inScope(s.scopeName) : inScope(s.scopeName);
  });
}

/** A scope selector's test of a class name (a pod's priority class, a claim's attributes class). */
function namedIn(name: string | undefined, operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', values: readonly string[] | undefined): boolean {
  switch (operator) {
    case 'In': return name !== undefined && (values ?? []).includes(name);
    case 'NotIn': return name === undefined || !(values ?? []).includes(name);
    case 'Exists': return name !== undefined;
    default: return name === undefined;
  }
}

/** What the quota's objects use together, for each resource it limits (0 where nothing uses it). */
export function quotaUsed(quota: ResourceQuota, objects: readonly Resource[]): Usage {
  const used: Usage = new Map(Object.keys(quota.spec.hard ?? {}).map((k) => [k, 0]));
  for (const obj of objects) {
    // An object being deleted still counts (a terminating pod still runs) until it is gone.
    if (obj.metadata.namespace !== quota.metadata.namespace || !quotaCounts(quota, obj)) continue;
    for (const [name, n] of usageOf(obj)) if (used.has(name)) used.set(name, used.get(name)! + n);
  }
  return used;
}

/** A usage as a ResourceList of quantities, in the quota's key order. */
export function asResourceList(usage: Usage): Record<string, string> {
  return Object.fromEntries([...usage].map(([k, v]) => [k, formatAmount(k, v)]));
}

/** The compute resources a container must state when a quota limits them. */
const MUST_STATE: Record<string, ['requests' | 'limits', 'cpu' | 'memory']> = {
  cpu: ['requests', 'cpu'], 'requests.cpu': ['requests', 'cpu'], memory: ['requests', 'memory'], 'requests.memory': ['requests', 'memory'],
  'limits.cpu': ['limits', 'cpu'], 'limits.memory': ['limits', 'memory'],
};

/**
 * Admit one more object under a quota that counts it, `used` being what its objects use now.
 * Returns the usage after it; throws permission-denied (Kubernetes' Forbidden) when it would
 * exceed the quota, or is a pod leaving out a request or limit the quota limits.
 */
export function chargeQuota(quota: ResourceQuota, used: Usage, obj: Resource, resource: string, previous?: Resource): Usage {
  const hard = amounts(quota.spec.hard);
  const name = quota.metadata.name;
  const refuse = (why: string) => new BerthError('permission-denied', `${resource} "${obj.metadata.name ?? ''}" is forbidden: ${why}`);
  if (obj.kind === 'Pod') {
    const missing = new Map<string, string[]>();
    const level = (obj as Pod).spec.resources;
    for (const key of hard.keys()) {
      const need = MUST_STATE[key];
      if (!need) continue;
      // A pod-level value states it for all the pod's containers.
      if (level?.[need[0]]?.[need[1]] !== undefined || (need[0] === 'requests' && level?.limits?.[need[1]] !== undefined)) continue;
      const label = `${need[0]}.${need[1]}`;
      for (const c of [...((obj as Pod).spec.initContainers ?? []), ...(obj as Pod).spec.containers]) {
        // A request left out beside a limit is that limit (the API's default).
        const stated = c.resources?.[need[0]]?.[need[1]] ?? (need[0] === 'requests' ? c.resources?.limits?.[need[1]] : undefined);
        if (stated === undefined && !(missing.get(label) ?? []).includes(c.name)) missing.set(label, [...(missing.get(label) ?? []), c.name]);
      }
    }
    if (missing.size > 0) {
      const parts = [...missing].sort(([a], [b]) => a.localeCompare(b)).map(([label, names]) => `${label} for: ${names.join(',')}`);
      throw refuse(`failed quota: ${name}: must specify ${parts.join('; ')}`);
    }
  }
  // An update is charged what it adds (a Service turned LoadBalancer); what it gives back is left to the recount.
  const delta = usageOf(obj);
  if (previous) for (const [key, n] of usageOf(previous)) delta.set(key, Math.max(0, (delta.get(key) ?? 0) - n));
  const after: Usage = new Map(used);
  const exceeded: string[] = [];
  for (const [key, limit] of hard) {
    const add = delta.get(key) ?? 0;
    if (add === 0) continue;
    const total = (used.get(key) ?? 0) + add;
    after.set(key, total);
    if (total > limit) exceeded.push(key);
  }
  if (exceeded.length > 0) {
    const show = (of: (k: string) => number) => exceeded.sort().map((k) => `${k}=${formatAmount(k, of(k))}`).join(',');
    throw refuse(`exceeded quota: ${name}, requested: ${show((k) => delta.get(k) ?? 0)}, used: ${show((k) => used.get(k) ?? 0)}, limited: ${show((k) => hard.get(k)!)}`);
  }
  return after;
}

/** Whether objects of `kind` can use the quota resource `key`. */
function kindUses(kind: string, key: string): boolean {
  if (key === countName(kind) || key === COUNTED_BY_NAME[kind]) return true;
  if (kind === 'Pod') return key in MUST_STATE || (key.startsWith('requests.') && key.includes('/'));
  if (kind === 'Service') return key === 'services.nodeports' || key === 'services.loadbalancers';
  if (kind === 'PersistentVolumeClaim') return key === 'requests.storage' || key.includes('.storageclass.storage.k8s.io/');
  return false;
}

/** The kinds whose objects a quota counts: what must be listed to know its usage. */
export function quotaKinds(quota: ResourceQuota): string[] {
  const keys = Object.keys(quota.spec.hard ?? {});
  return KINDS.filter((k) => k.namespaced && keys.some((key) => kindUses(k.kind, key))).map((k) => k.kind);
}
