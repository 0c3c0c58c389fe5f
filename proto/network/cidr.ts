// IPv4 blocks as the pod network uses them: the cluster CIDR, each node's pod CIDR carved from it,
// a block's gateway and its addresses. Addresses are unsigned 32-bit numbers inside; text outside.

import { isIP } from 'node:net';
import { BerthError } from '../errors';

export interface Cidr {
  /** The first address, host bits clear. */
  base: number;
  prefix: number;
}

/** Parse "a.b.c.d"; undefined when it is not an IPv4 address in dotted-quad form. */
export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return octets.reduce((a, o) => a * 256 + o, 0);
}

export function formatIPv4(address: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.');
}

/**
 * Parse "a.b.c.d/n" with `what` naming it in errors ("--cluster-cidr", "node n1's podCIDR"); the
 * host bits must be clear and n within [minPrefix, maxPrefix].
 */
export function parseCidr(text: string, what: string, minPrefix = 0, maxPrefix = 32): Cidr {
  const bad = (why: string) => new BerthError('invalid-argument', `${what} ${JSON.stringify(text)}: ${why}`);
  const [address, prefixText, ...rest] = text.split('/');
  const base = parseIPv4(address ?? '');
  if (base === undefined || rest.length > 0 || !/^\d{1,2}$/.test(prefixText ?? '')) throw bad('not an IPv4 CIDR like 10.42.0.0/16');
  const prefix = Number(prefixText);
  if (prefix < minPrefix || prefix > maxPrefix) throw bad(`the prefix length must be ${minPrefix} to ${maxPrefix}`);
  if (base % size({ base, prefix }) !== 0) throw bad('host bits are set');
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.prefix}`;
}

/** How many addresses the block holds. */
export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function containsAddress(c: Cidr, address: number): boolean {
  return address >= c.base && address < c.base + size(c);
}

/** Whether `inner` lies wholly inside `outer`. */
export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && containsAddress(outer, inner.base);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return containsAddress(a, b.base) || containsAddress(b, a.base);
}

/** The i-th block of length `prefix` inside `outer` (i from 0). */
export function subBlock(outer: Cidr, prefix: number, i: number): Cidr {
  return { base: outer.base + i * 2 ** (32 - prefix), prefix };
}

/** How many blocks of length `prefix` fit in `outer`. */
export function subBlockCount(outer: Cidr, prefix: number): number {
  return prefix < outer.prefix ? 0 : 2 ** (prefix - outer.prefix);
}

/** The address at `offset` in the block: 1 is the gateway of a pod CIDR (the bridge's address). */
export function addressAt(c: Cidr, offset: number): string {
  return formatIPv4(c.base + offset);
}

/**
 * A CIDR as NetworkPolicy ipBlocks take it (Kubernetes parses them loosely): IPv4 with host bits
 * masked off ("10.0.0.1/24" is 10.0.0.0/24), or IPv6, recognised but not parsed further (the pod
 * network is IPv4 only). Undefined when it is neither.
 */
export function parseBlock(text: string): { family: 4; cidr: Cidr } | { family: 6 } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const v4 = parseIPv4(address);
  if (v4 !== undefined) {
    if (prefix > 32) return undefined;
    const block = 2 ** (32 - prefix);
    return { family: 4, cidr: { base: v4 - (v4 % block), prefix } };
  }
  return isIP(address) === 6 && prefix <= 128 ? { family: 6 } : undefined;
}
