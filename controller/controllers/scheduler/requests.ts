// What a pod asks of a node, and what a node offers. A container's request defaults to its limit
// (as Kubernetes defaults it); no request at all is 0 for fitting, but for scoring counts as
// 100m cpu and 200Mi memory, as Kubernetes does, so that pods without requests still spread.

import type { Node, Pod } from '../../../proto/resources';
import { parseCpu, parseMemory } from '../../../proto/resources';

export interface Resources {
  /** Millicores. */
  cpu: number;
  /** Bytes. */
  memory: number;
}

const DEFAULT_SCORE_CPU = 100;
const DEFAULT_SCORE_MEMORY = 200 * 1024 * 1024;

/** The pod's requests for fitting, and the non-zero ones for scoring. Throws on a bad quantity. */
export function podRequests(pod: Pod): { fit: Resources; score: Resources } {
  const fit = { cpu: 0, memory: 0 };
  const score = { cpu: 0, memory: 0 };
  pod.spec.containers.forEach((c, i) => {
    const where = `pod ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''} spec.containers[${i}].resources`;
    const cpuText = c.resources?.requests?.cpu ?? c.resources?.limits?.cpu;
    const memText = c.resources?.requests?.memory ?? c.resources?.limits?.memory;
    const cpu = cpuText === undefined ? 0 : parseCpu(cpuText, `${where}.requests.cpu`);
    const memory = memText === undefined ? 0 : parseMemory(memText, `${where}.requests.memory`);
    fit.cpu += cpu;
    fit.memory += memory;
    score.cpu += cpuText === undefined ? DEFAULT_SCORE_CPU : cpu;
    score.memory += memText === undefined ? DEFAULT_SCORE_MEMORY : memory;
  });
  return { fit, score };
}

export interface Allocatable extends Resources {
  pods: number;
}

/**
 * What the node offers. A figure the agent did not report is no limit; one it reported and that
 * cannot be read is 0 (nothing fits: better than overcommitting on a garbled report).
 */
export function allocatable(node: Node): Allocatable {
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
