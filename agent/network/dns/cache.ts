// Upstream replies kept for as long as they say they may be (within bounds), so that a pod asking
// the same name again, or a hundred pods asking it at once, cost the upstream resolvers one query.
// Time is passed in (ms), never read here.

import type { Answer, DecodedPacket, Question, SoaAnswer } from 'dns-packet';
import { normalizeName } from './records';

/** A decoded reply as dns-packet gives it: it also sets `rcode`, which its types leave out. */
export type DecodedReply = DecodedPacket & { rcode?: string };

/** What is kept of a reply: its code and records (the EDNS OPT pseudo-record is the server's, per reply). */
export interface CachedReply {
  rcode: string;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

interface Entry {
  reply: CachedReply;
  storedAt: number;
  expiresAt: number;
}

export interface CacheLimits {
  /** Longest any reply is kept, s. */
  maxTtl: number;
  /** Longest a negative reply (NXDOMAIN, NODATA) is kept, s. */
  maxNegativeTtl: number;
}

/** Replies differ by name (case aside), type and class; nothing else of the question is asked. */
export const cacheKey = (question: Question): string => `${normalizeName(question.name)}\0${question.type}\0${question.class ?? 'IN'}`;

const records = (list: Answer[] | undefined) => (list ?? []).filter((r) => r.type !== 'OPT');
const ttlOf = (r: Answer) => ('ttl' in r && typeof r.ttl === 'number' ? r.ttl : 0);

/**
 * How long a reply may be kept, s (0: not at all). A positive answer lives as long as its shortest
 * record (RFC 2181 5.2 asks the same of one RRset; the shortest of all is the safe reading), a
 * negative one as long as its SOA says (RFC 2308 5: the lesser of the SOA's TTL and its minimum);
 * without an SOA, a negative answer is not cached. Truncated replies and failures are never kept:
 * the next query must try again.
 */
export function cacheTtl(reply: DecodedReply, limits: CacheLimits): number {
  if (reply.flag_tc) return 0;
  const rcode = reply.rcode ?? 'NOERROR';
  if (rcode === 'NOERROR' && (reply.answers?.length ?? 0) > 0) {
    const all = [...records(reply.answers), ...records(reply.authorities), ...records(reply.additionals)];
    return Math.max(0, Math.min(limits.maxTtl, ...all.map(ttlOf)));
  }
  if (rcode === 'NOERROR' || rcode === 'NXDOMAIN') {
    const soa = reply.authorities?.find((r): r is SoaAnswer => r.type === 'SOA');
    if (!soa) return 0;
    return Math.max(0, Math.min(limits.maxNegativeTtl, soa.ttl ?? 0, soa.data.minimum ?? 0));
  }
  return 0;
}

/**
 * A bounded map of replies: a Map in recency order, so the least recently used entry is its first
 * and a hit moves an entry to the end. Expired entries go when they are next asked for, or when
 * they reach the front.
 */
export class ReplyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries: number, private readonly limits: CacheLimits) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * The reply for this key if it is still fresh at `now`, its records' TTLs counted down by its
   * age (so a client's own cache does not outlive ours). Copies: callers may change them.
   */
  get(key: string, now: number): CachedReply | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (now >= entry.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    const age = Math.floor((now - entry.storedAt) / 1000);
    const aged = (list: Answer[]) => list.map((r) => ('ttl' in r ? { ...r, ttl: Math.max(0, ttlOf(r) - age) } : { ...r }) as Answer);
    const { reply } = entry;
    return { rcode: reply.rcode, answers: aged(reply.answers), authorities: aged(reply.authorities), additionals: aged(reply.additionals) };
  }

  /** Keeps the reply for as long as cacheTtl allows; returns that time, s (0: not kept). */
  put(key: string, reply: DecodedReply, now: number): number {
    const ttl = cacheTtl(reply, this.limits);
    if (ttl <= 0) return 0;
    this.entries.delete(key);
    this.entries.set(key, {
      reply: { rcode: reply.rcode ?? 'NOERROR', answers: records(reply.answers), authorities: records(reply.authorities), additionals: records(reply.additionals) },
      storedAt: now,
      expiresAt: now + ttl * 1000,
    });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return ttl;
  }

  clear(): void {
    this.entries.clear();
  }
}
