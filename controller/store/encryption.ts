// Encryption at rest, as Kubernetes' EncryptionConfiguration does it: the values of chosen
// resources (secrets, by default the only ones) are sealed with AES-GCM before they reach the
// store, SQLite or etcd alike, and opened again on every read and watch event. The first provider
// of a resource writes; every provider may read, so a key can be rotated: add the new key first,
// keep the old one after it, rewrite the objects (any update), then drop the old key.
//
// Stored form (Kubernetes' own): `k8s:enc:aesgcm:v1:<key name>:` + 12-byte nonce + ciphertext +
// 16-byte tag, the key (the object's store key) bound in as associated data so a value cannot be
// moved under another name. A value without the prefix is read only where `identity` is a
// provider (data written before encryption was turned on).

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import { StoreError, type Fence, type KeyValue, type Store, type StoreEvent, type WatchCallbacks, type WatchHandle } from './types';

export type EncryptionProvider =
  | { type: 'aesgcm'; keys: { name: string; secret: Buffer }[] }
  | { type: 'identity' };

export interface EncryptionRule {
  /** Store key prefixes of the resources (`/registry/secrets/`). */
  prefixes: string[];
  providers: EncryptionProvider[];
}

const PREFIX = 'k8s:enc:aesgcm:v1:';

/**
 * Kubernetes' EncryptionConfiguration (apiserver.config.k8s.io/v1): resources and their providers,
 * of which berth knows aesgcm and identity. Errors name the file and the field.
 */
export function parseEncryptionConfig(text: string, file: string): EncryptionRule[] {
  const bad = (where: string, why: string) => new StoreError('internal', `${file}: ${where}: ${why}`);
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw bad('YAML', (err as Error).message);
  }
  const config = doc as { kind?: string; apiVersion?: string; resources?: unknown };
  if (config?.kind !== 'EncryptionConfiguration') throw bad('kind', 'expected EncryptionConfiguration (apiVersion apiserver.config.k8s.io/v1)');
  if (!Array.isArray(config.resources) || config.resources.length === 0) throw bad('resources', 'expected a list of {resources, providers}');
  return config.resources.map((entry: { resources?: unknown; providers?: unknown }, i: number) => {
    const at = `resources[${i}]`;
    if (!Array.isArray(entry?.resources) || entry.resources.length === 0) throw bad(`${at}.resources`, 'expected resource names such as secrets');
    if (!Array.isArray(entry.providers) || entry.providers.length === 0) throw bad(`${at}.providers`, 'expected at least one provider (aesgcm or identity)');
    const prefixes = (entry.resources as unknown[]).map((r, j) => {
      if (typeof r !== 'string' || !/^[a-z.]+$/.test(r)) throw bad(`${at}.resources[${j}]`, `expected a resource name such as secrets or configmaps, got ${JSON.stringify(r)}`);
      // "secrets", "configmaps", or "deployments.apps": the store key uses the plural alone.
      return `/registry/${r.split('.')[0]}/`;
    });
    const providers = (entry.providers as Array<Record<string, unknown>>).map((p, j): EncryptionProvider => {
      const pat = `${at}.providers[${j}]`;
      if (p && 'identity' in p) return { type: 'identity' };
      const aes = p?.aesgcm as { keys?: Array<{ name?: unknown; secret?: unknown }> } | undefined;
      if (!aes) throw bad(pat, `expected aesgcm or identity (berth does not support ${Object.keys(p ?? {}).join(', ') || 'an empty provider'})`);
      if (!Array.isArray(aes.keys) || aes.keys.length === 0) throw bad(`${pat}.aesgcm.keys`, 'expected at least one key');
      return {
        type: 'aesgcm',
        keys: aes.keys.map((k, n) => {
          if (typeof k?.name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(k.name)) throw bad(`${pat}.aesgcm.keys[${n}].name`, 'expected a name of letters, digits, ".", "_" or "-"');
          const secret = typeof k.secret === 'string' ? Buffer.from(k.secret, 'base64') : Buffer.alloc(0);
          if (![16, 24, 32].includes(secret.length)) throw bad(`${pat}.aesgcm.keys[${n}].secret`, `expected 16, 24 or 32 base64-encoded bytes (got ${secret.length}); make one with: head -c 32 /dev/urandom | base64`);
          return { name: k.name, secret };
        }),
      };
    });
    return { prefixes, providers };
  });
}

/** The store with these rules' values sealed on write and opened on read. */
export function encryptingStore(store: Store, rules: EncryptionRule[]): Store {
  const ruleFor = (key: string) => rules.find((r) => r.prefixes.some((p) => key.startsWith(p)));
  const seal = (key: string, value: Buffer): Buffer => {
    const writer = ruleFor(key)?.providers[0];
    if (!writer || writer.type === 'identity') return value;
    const { name, secret } = writer.keys[0]!;
    const nonce = randomBytes(12);
    const cipher = createCipheriv(`aes-${secret.length * 8}-gcm` as 'aes-256-gcm', secret, nonce);
    cipher.setAAD(Buffer.from(key));
    const body = Buffer.concat([cipher.update(value), cipher.final()]);
    return Buffer.concat([Buffer.from(`${PREFIX}${name}:`), nonce, body, cipher.getAuthTag()]);
  };
  const open = (key: string, value: Buffer): Buffer => {
    const rule = ruleFor(key);
    if (!rule) return value;
    if (!value.subarray(0, PREFIX.length).equals(Buffer.from(PREFIX))) {
      if (rule.providers.some((p) => p.type === 'identity')) return value;
      throw new StoreError('internal', `${key}: stored unencrypted, and no identity provider is configured to read it`);
    }
    const nameEnd = value.indexOf(':', PREFIX.length);
    const name = value.subarray(PREFIX.length, nameEnd).toString();
    const secret = rule.providers.flatMap((p) => (p.type === 'aesgcm' ? p.keys : [])).find((k) => k.name === name)?.secret;
    if (!secret) throw new StoreError('internal', `${key}: encrypted with key "${name}", which the encryption config no longer has`);
    const nonce = value.subarray(nameEnd + 1, nameEnd + 13);
    const tag = value.subarray(value.length - 16);
    const decipher = createDecipheriv(`aes-${secret.length * 8}-gcm` as 'aes-256-gcm', secret, nonce);
    decipher.setAAD(Buffer.from(key));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(value.subarray(nameEnd + 13, value.length - 16)), decipher.final()]);
    } catch (err) {
      throw new StoreError('internal', `${key}: cannot decrypt with key "${name}" (wrong key, or the value was altered)`, { cause: err });
    }
  };
  const openKv = (kv: KeyValue): KeyValue => ({ ...kv, value: open(kv.key, kv.value) });
  const openEvent = (e: StoreEvent): StoreEvent => ({ ...e, value: open(e.key, e.value), ...(e.prevValue ? { prevValue: open(e.key, e.prevValue) } : {}) });
  return {
    revision: () => store.revision(),
    get: async (key) => {
      const kv = await store.get(key);
      return kv && openKv(kv);
    },
    list: async (prefix) => {
      const { items, revision } = await store.list(prefix);
      return { items: items.map(openKv), revision };
    },
    create: (key: string, value: Buffer, fence?: Fence) => store.create(key, seal(key, value), fence),
    update: (key: string, value: Buffer, expected: number, fence?: Fence) => store.update(key, seal(key, value), expected, fence),
    delete: (key, expected, fence) => store.delete(key, expected, fence),
    watch: (prefix: string, afterRevision: number, callbacks: WatchCallbacks): WatchHandle => store.watch(prefix, afterRevision, {
      onEvent: (e) => {
        let opened: StoreEvent;
        try {
          opened = openEvent(e);
        } catch (err) {
          callbacks.onError(err as Error);
          return;
        }
        callbacks.onEvent(opened);
      },
      onError: (err) => callbacks.onError(err),
    }),
    compact: (revision) => store.compact(revision),
    close: () => store.close(),
  };
}
