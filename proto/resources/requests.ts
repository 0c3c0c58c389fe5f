// What a pod asks of a node and what a node offers, counted one way for every process: the
// scheduler places pods by it and the agent re-checks its pods by it, as Kubernetes' scheduler and
// kubelet share one count. A container's request defaults to its limit (as Kubernetes defaults
// it); a container with neither asks for nothing.

import { parseCpu, parseMemory } from './quantity';
import type { Container, Node, Pod } from './types';

export interface ResourceAmounts {
  /** Millicores. */
  cpu: number;
  /** Bytes. */
  memory: number;
}

export interface NodeAllocatable extends ResourceAmounts {
  pods: number;
}

/** One container's requests; a resource it neither requests nor limits is absent. Throws on a bad quantity. */
export function containerRequests(container: Container, where: string): Partial<ResourceAmounts> {
  const cpu = container.resources?.requests?.cpu ?? container.resources?.limits?.cpu;
  const memory = container.resources?.requests?.memory ?? container.resources?.limits?.memory;
  return {
    ...(cpu !== undefined ? { cpu: parseCpu(cpu, `${where}.requests.cpu`) } : {}),
    ...(memory !== undefined ? { memory: parseMemory(memory, `${where}.requests.memory`) } : {}),
  };
}

/**
 * What a pod needs room for, as Kubernetes counts it: its pod-level requests where it has them;
 * else its app containers' and sidecars' requests added up, or, if more, what the largest init
 * container asks beside the sidecars started before it (init containers run one at a time).
 * Throws on a bad quantity.
 */
export function podRequests(pod: Pod): ResourceAmounts {
  const aggregate = containersRequests(pod);
  // Pod-level requests (or, without them, pod-level limits) are what the pod asks for, resource by resource.
  const level = pod.spec.resources;
  const cpu = level?.requests?.cpu ?? level?.limits?.cpu;
  const memory = level?.requests?.memory ?? level?.limits?.memory;
  const where = `pod ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''} spec.resources`;
  return {
    cpu: cpu !== undefined ? parseCpu(cpu, `${where}.requests.cpu`) : aggregate.cpu,
    memory: memory !== undefined ? parseMemory(memory, `${where}.requests.memory`) : aggregate.memory,
  };
}

/** What the pod's containers ask for together, as Kubernetes counts it (see podRequests). */
export function containersRequests(pod: Pod): ResourceAmounts {
  const total = { cpu: 0, memory: 0 };
  pod.spec.containers.forEach((c, i) => {
    const r = containerRequests(c, containerPath(pod, i));
    total.cpu += r.cpu ?? 0;
    total.memory += r.memory ?? 0;
  });
  const sidecars = { cpu: 0, memory: 0 };
  const initPeak = { cpu: 0, memory: 0 };
  (pod.spec.initContainers ?? []).forEach((c, i) => {
    const r = containerRequests(c, containerPath(pod, i, 'initContainers'));
    if (c.restartPolicy === 'Always') {
      sidecars.cpu += r.cpu ?? 0;
      sidecars.memory += r.memory ?? 0;
    }
    initPeak.cpu = Math.max(initPeak.cpu, sidecars.cpu + (c.restartPolicy === 'Always' ? 0 : r.cpu ?? 0));
    initPeak.memory = Math.max(initPeak.memory, sidecars.memory + (c.restartPolicy === 'Always' ? 0 : r.memory ?? 0));
  });
  return { cpu: Math.max(total.cpu + sidecars.cpu, initPeak.cpu), memory: Math.max(total.memory + sidecars.memory, initPeak.memory) };
}

/** How a container's resources are named in messages: `pod shop/web spec.containers[0].resources`. */
export function containerPath(pod: Pod, index: number, list: 'containers' | 'initContainers' = 'containers'): string {
  return `pod ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''} spec.${list}[${index}].resources`;
}

/**
 * What the node offers. A figure the agent did not report is no limit; one it reported and that
 * cannot be read is 0 (nothing fits: better than overcommitting on a garbled report).
 */
export function nodeAllocatable(node: Node): NodeAllocatable {
  const a = node.status?.allocatable ?? {};
  return {
    cpu: read(a.cpu, parseCpu),
    memory: read(a.memory, parseMemory),
    pods: read(a.pods, (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error('bad pod count');
      return n;
    }),
  };
}

function read(value: string | undefined, parse: (v: string) => number): number {
  if (value === undefined || value === '') return Infinity;
  try {
    return parse(value);
  } catch {
    return 0;
  }
}
