// Kubernetes resource quantities ("500m", "1.5", "128Mi", "1G", "1e3") as numbers, and back.

import { BerthError } from '../errors';

const SUFFIX: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The quantity's value: "500m" -> 0.5, "128Mi" -> 134217728, "1e3" -> 1000. */
export function parseQuantity(value: string | number, what: string): number {
  if (typeof value === 'number') return value;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(value.trim());
  if (!m) throw new BerthError('invalid-argument', `${what} "${value}" is not a quantity (e.g. 500m, 2, 128Mi, 1G)`);
  return Number(m[1]) * SUFFIX[m[2] ?? '']!;
}

/** Bytes, whole, for a memory limit. */
export function parseMemoryBytes(value: string | number, what: string): number {
  return Math.ceil(parseQuantity(value, what));
}

/** CPUs, for a CPU limit (docker's --cpus). */
export function parseCpus(value: string | number, what: string): number {
  return parseQuantity(value, what);
}

/** Bytes as Kubernetes prints a node's memory: whole kibibytes. */
export function formatKibibytes(bytes: number): string {
  return `${Math.floor(bytes / 1024)}Ki`;
}
