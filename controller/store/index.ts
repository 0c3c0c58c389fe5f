// What the rest of the controller may import from the store: the contract, and openStore to get
// an implementation from the controller's `--store` setting.

import * as path from 'node:path';
import { openEtcdStore } from './etcd';
import { openSqliteStore } from './sqlite';
import { StoreError, type Store } from './types';

export * from './types';
export { openEtcdStore, type EtcdStoreOptions } from './etcd';
export { openSqliteStore, DEFAULT_HISTORY_REVISIONS, type SqliteStoreOptions } from './sqlite';

const USAGE = 'expected "sqlite" or "etcd://host:port[,host:port...][/key-prefix]"';

/**
 * `spec` is "sqlite" (the file `<dataRoot>/state.db`) or
 * "etcd://host:port[,host:port...]", optionally with a path that becomes the key prefix
 * ("etcd://10.0.0.1:2379/berth/" keeps every key under "/berth/"; a bare "/" means none).
 */
export async function openStore(spec: string, dataRoot: string): Promise<Store> {
  if (spec === 'sqlite') return openSqliteStore(path.join(dataRoot, 'state.db'));
  const m = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(spec);
  if (!m) throw new StoreError('internal', `unknown store "${spec}": ${USAGE}`);
  const endpoints = m[1]!.split(',');
  for (const e of endpoints) {
    if (!/^[^\s:,]+:\d{1,5}$/.test(e) && !/^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(e)) {
      throw new StoreError('internal', `bad etcd endpoint "${e}" in store "${spec}": ${USAGE}`);
    }
  }
  return m[2] && m[2] !== '/' ? openEtcdStore(endpoints, { prefix: m[2] }) : openEtcdStore(endpoints);
}
