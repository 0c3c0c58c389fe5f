// Resource quantities by name, as LimitRange and ResourceQuota speak of them: cpu in millicores,
// memory and storage in bytes, counts ("pods", "count/deployments.apps") as integers. One parser
// and one printer per unit, so a message prints "1536Mi" for "1.5Gi" as Kubernetes' Quantity does.

import { formatCpu, formatMemory, parseCpu, parseMemory, type ResourceList } from '../../proto/resources';

type Unit = 'cpu' | 'bytes' | 'count';

/** The unit of a resource name: `cpu`, `requests.cpu`, `limits.cpu` are cores; memory and storage bytes; the rest counts. */
export function unitOf(resource: string): Unit {
  const base = resource.replace(/^(requests|limits)\./, '').replace(/^.*\//, '');
  if (base === 'cpu') return 'cpu';
  if (base === 'memory' || base === 'storage' || base === 'ephemeral-storage' || base.startsWith('hugepages-')) return 'bytes';
  return 'count';
}

/** A quantity of `resource` in its unit (millicores, bytes, items). Throws on a malformed one. */
export function amountOf(resource: string, value: string | number, where?: string): number {
  return unitOf(resource) === 'cpu' ? parseCpu(value, where) : parseMemory(value, where);
}

/** An amount as Kubernetes prints a quantity of that resource. */
export function formatAmount(resource: string, amount: number): string {
  const unit = unitOf(resource);
  return unit === 'cpu' ? formatCpu(amount) : unit === 'bytes' ? formatMemory(amount) : String(amount);
}

/** A resource list as amounts (absent: empty). */
export function amounts(list: ResourceList | undefined, where?: string): Map<string, number> {
  return new Map(Object.entries(list ?? {}).map(([name, value]) => [name, amountOf(name, value, where ? `${where}.${name}` : undefined)]));
}
