// Bootstrap tokens, what an agent joins with (kubeadm's and k3s's join tokens). The token a user
// gets is `K10<ca pin>::<id>.<secret>`; the store keeps, under /berth/bootstrap-tokens/<id>, only a
// SHA-256 of the secret, when it expires, and which node used it. A token joins one node, once:
// `consume` marks it used with a compare-and-swap, so two agents racing with one token get one
// certificate between them.

import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { BerthError } from '../../proto/errors';
import type { Store } from '../store';

export const TOKEN_PREFIX = '/berth/bootstrap-tokens/';
export const DEFAULT_TOKEN_TTL_MS = 24 * 3600 * 1000;
/** An expired token is kept this long (to say "expired" rather than "unknown"), then deleted. */
const EXPIRED_KEPT_MS = 3600 * 1000;

export interface TokenRecord {
  id: string;
  /** Hex SHA-256 of the secret. */
  secretHash: string;
  description: string;
  created: string;
  expires: string;
  usedBy?: string;
}

export interface NewToken {
  id: string;
  secret: string;
  record: TokenRecord;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const randomText = (n: number) => Array.from({ length: n }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');
const key = (id: string) => `${TOKEN_PREFIX}${id}`;

export class BootstrapTokens {
  constructor(private readonly store: Store, private readonly now: () => Date) {}

  async create(options: { ttlMs?: number; description?: string } = {}): Promise<NewToken> {
    const ttlMs = options.ttlMs ?? DEFAULT_TOKEN_TTL_MS;
    if (!(ttlMs > 0)) throw new BerthError('invalid-argument', `token ttl must be positive (got ${ttlMs / 1000}s)`);
    const now = this.now();
    for (;;) {
      const id = randomText(6);
      const secret = randomText(16);
      const record: TokenRecord = {
        id,
        secretHash: hash(secret),
        description: options.description ?? '',
        created: now.toISOString(),
        expires: new Date(now.getTime() + ttlMs).toISOString(),
      };
      try {
        await this.store.create(key(id), Buffer.from(JSON.stringify(record)));
        return { id, secret, record };
      } catch (err) {
        if ((err as BerthError).code !== 'already-exists') throw err;
      }
    }
  }

  /** Every token, oldest first; those long expired are deleted on the way. */
  async list(): Promise<TokenRecord[]> {
    const { items } = await this.store.list(TOKEN_PREFIX);
    const now = this.now().getTime();
    const records: TokenRecord[] = [];
    for (const kv of items) {
      const record = JSON.parse(kv.value.toString()) as TokenRecord;
      if (Date.parse(record.expires) + EXPIRED_KEPT_MS < now) {
        await this.store.delete(kv.key, kv.modRevision).catch(() => undefined);
        continue;
      }
      records.push(record);
    }
    return records.sort((a, b) => a.created.localeCompare(b.created));
  }

  async delete(id: string): Promise<void> {
    try {
      await this.store.delete(key(id));
    } catch (err) {
      if ((err as BerthError).code === 'not-found') throw new BerthError('not-found', `bootstrap token "${id}" not found`);
      throw err;
    }
  }

  /**
   * Use the token `id.secret` for node `nodeName`, or fail UNAUTHENTICATED saying why: unknown,
   * wrong secret, expired, already used.
   */
  async consume(id: string, secret: string, nodeName: string): Promise<void> {
    const kv = await this.store.get(key(id));
    const refuse = (why: string) => new BerthError('unauthenticated', `join token ${id}: ${why}`);
    if (!kv) throw refuse('not known here (deleted, long expired, or made by another cluster)');
    const record = JSON.parse(kv.value.toString()) as TokenRecord;
    const given = Buffer.from(hash(secret), 'hex');
    if (!timingSafeEqual(given, Buffer.from(record.secretHash, 'hex'))) throw refuse('wrong secret');
    if (Date.parse(record.expires) <= this.now().getTime()) throw refuse(`expired at ${record.expires}`);
    if (record.usedBy !== undefined) throw refuse(`already used by node "${record.usedBy}" (a token joins one node: berth token create makes another)`);
    try {
      await this.store.update(kv.key, Buffer.from(JSON.stringify({ ...record, usedBy: nodeName })), kv.modRevision);
    } catch (err) {
      if ((err as BerthError).code === 'conflict' || (err as BerthError).code === 'not-found') throw refuse('used or deleted while this join was under way');
      throw err;
    }
  }
}
