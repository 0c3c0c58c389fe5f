// What the rest of the controller may import from the store: the contract, and openStore to get
// an implementation from the controller's `--store` setting.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { isIP } from 'node:net';
import { openEtcdStore } from './etcd';
import { openSqliteStore } from './sqlite';
import { StoreError, type Store } from './types';

export * from './types';
export { openEtcdStore, type EtcdStoreOptions } from './etcd';
export { openSqliteStore, DEFAULT_HISTORY_REVISIONS, type SqliteStoreOptions } from './sqlite';
export { encryptingStore, parseEncryptionConfig, type EncryptionProvider, type EncryptionRule } from './encryption';

const USAGE = 'expected "sqlite" or "etcd://host:port[,host:port...][/key-prefix]"';

/** How the controller reaches etcd: files as etcd's own flags name them. */
export interface EtcdTransport {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Speak plaintext to an etcd that is not on this host (refused without it). */
  insecure?: boolean;
}

const isLoopback = (host: string) => host === 'localhost' || (isIP(host) === 4 ? host.startsWith('127.') : host === '::1');

/**
 * Refuse what would send the cluster's state (its secrets and CA key among it) in the clear over a
 * network, and half a client certificate.
 */
export function checkEtcdTransport(endpoints: string[], transport: EtcdTransport): void {
  if ((transport.certFile === undefined) !== (transport.keyFile === undefined)) {
    throw new StoreError('internal', '--etcd-certfile and --etcd-keyfile go together: a client certificate needs its key');
  }
  if (transport.caFile || transport.insecure) return;
  const remote = endpoints.find((e) => !isLoopback(e.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')));
  if (remote) {
    throw new StoreError('internal', `etcd endpoint ${remote} is not on this host and the store has no TLS: give --etcd-cafile (and --etcd-certfile, --etcd-keyfile for a client certificate), or --etcd-insecure to send the cluster's state in the clear`);
  }
}

/**
 * `spec` is "sqlite" (the file `<dataRoot>/state.db`) or
 * "etcd://host:port[,host:port...]", optionally with a path that becomes the key prefix
 * ("etcd://10.0.0.1:2379/berth/" keeps every key under "/berth/"; a bare "/" means none).
 */
export async function openStore(spec: string, dataRoot: string, transport: EtcdTransport = {}): Promise<Store> {
  if (spec === 'sqlite') return openSqliteStore(path.join(dataRoot, 'state.db'));
  const m = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(spec);
  if (!m) throw new StoreError('internal', `unknown store "${spec}": ${USAGE}`);
  const endpoints = m[1]!.split(',');
  for (const e of endpoints) {
    if (!/^[^\s:,]+:\d{1,5}$/.test(e) && !/^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(e)) {
      throw new StoreError('internal', `bad etcd endpoint "${e}" in store "${spec}": ${USAGE}`);
    }
  }
  checkEtcdTransport(endpoints, transport);
  const read = async (file: string, flag: string) => {
    try {
      return await fs.readFile(file);
    } catch (err) {
      throw new StoreError('internal', `${flag} ${file}: ${(err as Error).message}`);
    }
  };
  const tls = transport.caFile ? {
    caPem: await read(transport.caFile, '--etcd-cafile'),
    ...(transport.certFile && transport.keyFile ? { certPem: await read(transport.certFile, '--etcd-certfile'), keyPem: await read(transport.keyFile, '--etcd-keyfile') } : {}),
  } : undefined;
  return openEtcdStore(endpoints, { ...(m[2] && m[2] !== '/' ? { prefix: m[2] } : {}), ...(tls ? { tls } : {}) });
}
