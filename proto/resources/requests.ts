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
  /** Extended resources ("example.com/dongle", "nvidia.com/gpu"), whole units, by name; absent: none. */
  extended?: Record<string, number>;
}

/**
 * An extended resource: a name with a domain, outside kubernetes.io (a GPU, a dongle). It is
 * counted in whole units, never overcommitted, and a node offers only what it advertises.
 */
export function isExtendedResource(name: string): boolean {
  return name.includes('/') && !name.startsWith('kubernetes.io/') && !name.includes('.kubernetes.io/');
}

/** `a` plus `sign` times `b`, extended resources included (a pod counted on a node, or taken back). */
export function addAmounts(a: ResourceAmounts, b: ResourceAmounts, sign: 1 | -1 = 1): ResourceAmounts {
  const extended = { ...a.extended };
  for (const [k, v] of Object.entries(b.extended ?? {})) extended[k] = (extended[k] ?? 0) + sign * v;
  return { cpu: a.cpu + sign * b.cpu, memory: a.memory + sign * b.memory, ...(Object.keys(extended).length ? { extended } : {}) };
}

/** The extended resources `request` wants more of than `free` leaves (allocatable minus used), by name. */
export function shortExtended(request: ResourceAmounts, allocatable: ResourceAmounts, used: ResourceAmounts): string[] {
  return Object.entries(request.extended ?? {})
    .filter(([name, n]) => n > 0 && n > (allocatable.extended?.[name] ?? 0) - (used.extended?.[name] ?? 0))
    .map(([name]) => name)
    .sort();
}

/** A container's extended resources: its limits (its requests must equal them). */
function containerExtended(container: Container): Record<string, number> {
  const out: Record<string, number> = {};
  const list = { ...container.resources?.requests, ...container.resources?.limits } as Record<string, string | undefined>;
  for (const [name, value] of Object.entries(list)) {
    if (isExtendedResource(name) && value !== undefined) out[name] = Number(value);
  }
  return out;
}

/** What a pod's containers take of each extended resource (app containers and sidecars together, or the largest init container if more). */
function podExtended(pod: Pod): Record<string, number> | undefined {
  // As cpu and memory: the app containers and sidecars together, or, if more, an init container
  // beside the sidecars started before it.
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  const total: Record<string, number> = {};
  for (const c of pod.spec.containers) add(total, containerExtended(c));
  const sidecars: Record<string, number> = {};
  const initPeak: Record<string, number> = {};
  for (const c of pod.spec.initContainers ?? []) {
    const own = containerExtended(c);
    if (c.restartPolicy === 'Always') {
      add(sidecars, own);
      for (const [k, v] of Object.entries(sidecars)) initPeak[k] = Math.max(initPeak[k] ?? 0, v);
    } else {
      for (const k of new Set([...Object.keys(own), ...Object.keys(sidecars)])) initPeak[k] = Math.max(initPeak[k] ?? 0, (sidecars[k] ?? 0) + (own[k] ?? 0));
    }
  }
  add(total, sidecars);
  for (const [k, v] of Object.entries(initPeak)) total[k] = Math.max(total[k] ?? 0, v);
  return Object.keys(total).length > 0 ? total : undefined;
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
  const extended = podExtended(pod);
  return {
    cpu: cpu !== undefined ? parseCpu(cpu, `${where}.requests.cpu`) : aggregate.cpu,
    memory: memory !== undefined ? parseMemory(memory, `${where}.requests.memory`) : aggregate.memory,
    ...(extended ? { extended } : {}),
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
  // Extended resources a node does not advertise it does not have (0, unlike cpu and memory).
  const extended = Object.fromEntries(Object.entries(a).filter(([k]) => isExtendedResource(k)).map(([k, v]) => [k, read(v, (x) => parseMemory(x))]));
  return {
    ...(Object.keys(extended).length ? { extended } : {}),
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
