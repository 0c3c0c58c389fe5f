// ConfigMaps and Secrets in the store: Secrets sealed at rest with AES-GCM by Kubernetes'
// EncryptionConfiguration (never in plaintext in SQLite's file or etcd's values, readable across
// a key rotation, refused with a clear line under a wrong key), stringData folded into data,
// immutable ones refused any change, and what an apply of changed data does.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { apply, ensureNamespace, Registry } from '../../controller/objects';
import { encryptingStore, openStore, parseEncryptionConfig, type EncryptionRule, type Store } from '../../controller/store';
import type { ConfigMap, Secret } from '../../proto/resources';
import { validateResource } from '../../proto/manifests';
import { startEtcd } from '../fixtures/etcd';

const KEY1 = Buffer.alloc(32, 1).toString('base64');
const KEY2 = Buffer.alloc(32, 2).toString('base64');
const config = (keys: Array<[string, string]>, identity = false) => parseEncryptionConfig(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
${keys.length ? `      - aesgcm:
          keys:
${keys.map(([name, secret]) => `            - {name: ${name}, secret: ${secret}}`).join('\n')}\n` : ''}${identity ? '      - identity: {}\n' : ''}`, 'enc.yaml');

const PLAIN = 'hunter2-the-database-password';
const secret = (name: string, extra: Partial<Secret> = {}): Secret => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: { password: PLAIN }, ...extra });

async function registryOn(t: Test, raw: Store, rules: EncryptionRule[] | undefined): Promise<Registry> {
  const registry = new Registry(rules ? encryptingStore(raw, rules) : raw);
  await ensureNamespace(registry, 'default');
  return registry;
}

const applyOne = async (registry: Registry, doc: unknown) => (await apply(registry, [doc], { dryRun: false, applySet: '', prune: false }))[0]!;

t.test('SQLite: a Secret is sealed in the file, read back whole, and survives a key rotation', async (t) => {
  const dir = t.testdir();
  const raw = await openStore('sqlite', dir);
  t.teardown(() => raw.close());
  const registry = await registryOn(t, raw, config([['key1', KEY1]]));
  const made = await applyOne(registry, secret('db'));
  t.equal(made.action, 'created');
  const stored = await registry.get<Secret>('Secret', 'default', 'db');
  t.same(stored.data, { password: Buffer.from(PLAIN).toString('base64') }, 'stringData folded into data, base64');
  t.equal(stored.type, 'Opaque');
  t.notOk('stringData' in stored, 'stringData is never stored');
  const value = (await raw.get('/registry/secrets/default/db'))!.value;
  t.ok(value.toString('latin1').startsWith('k8s:enc:aesgcm:v1:key1:'), 'the stored value is Kubernetes\' sealed form');
  const file = fs.readFileSync(path.join(dir, 'state.db')).toString('latin1') + (fs.existsSync(path.join(dir, 'state.db-wal')) ? fs.readFileSync(path.join(dir, 'state.db-wal')).toString('latin1') : '');
  t.notOk(file.includes(PLAIN) || file.includes(Buffer.from(PLAIN).toString('base64')), 'neither the value nor its base64 is anywhere in the database files');

  // Rotation: the new key first, the old one still listed; a rewrite moves the object to the new key.
  const rotated = await registryOn(t, raw, config([['key2', KEY2], ['key1', KEY1]]));
  t.same((await rotated.get<Secret>('Secret', 'default', 'db')).data, stored.data, 'read with the old key');
  await rotated.mutate<Secret>('Secret', 'default', 'db', (s) => ({ ...s, metadata: { ...s.metadata, labels: { rotated: 'yes' } } }));
  t.ok((await raw.get('/registry/secrets/default/db'))!.value.toString('latin1').startsWith('k8s:enc:aesgcm:v1:key2:'), 'rewritten under the new key');
  const onlyNew = await registryOn(t, raw, config([['key2', KEY2]]));
  t.equal((await onlyNew.get<Secret>('Secret', 'default', 'db')).metadata.labels?.rotated, 'yes', 'the old key can go');
  const wrong = await registryOn(t, raw, config([['key2', KEY1]]));
  await t.rejects(wrong.get('Secret', 'default', 'db'), { message: '/registry/secrets/default/db: cannot decrypt with key "key2" (wrong key, or the value was altered)' });
  const plain = await registryOn(t, raw, undefined);
  await plain.create<Secret>(secret('old'));
  await t.rejects(onlyNew.get('Secret', 'default', 'old'), { message: /stored unencrypted, and no identity provider is configured to read it/ });
  t.same((await (await registryOn(t, raw, config([['key2', KEY2]], true))).get<Secret>('Secret', 'default', 'old')).data, { password: Buffer.from(PLAIN).toString('base64') }, 'identity reads what was written before');
});

t.test('etcd: the value etcd holds is sealed; watches see it opened', async (t) => {
  const etcd = await startEtcd(t);
  const raw = await openStore(`etcd://${etcd.endpoint}`, t.testdir());
  t.teardown(() => raw.close());
  const registry = await registryOn(t, raw, config([['key1', KEY1]]));
  const seen: string[] = [];
  const watch = registry.watch('Secret', {}, await registry.revision(), { onEvent: (e) => seen.push(JSON.stringify(e.object)), onError: () => undefined });
  t.teardown(() => watch.close());
  await registry.create(secret('api'));
  const value = (await raw.get('/registry/secrets/default/api'))!.value.toString('latin1');
  t.ok(value.startsWith('k8s:enc:aesgcm:v1:key1:') && !value.includes(PLAIN), 'sealed in etcd');
  for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  t.match(seen[0], Buffer.from(PLAIN).toString('base64'), 'the watch event carries the opened object');
});

t.test('immutable ConfigMaps and Secrets refuse changes; an apply changes data', async (t) => {
  const raw = await openStore('sqlite', t.testdir());
  t.teardown(() => raw.close());
  const registry = await registryOn(t, raw, undefined);
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app' }, data: { mode: 'fast' } };
  t.equal((await applyOne(registry, cm)).action, 'created');
  t.equal((await applyOne(registry, cm)).action, 'unchanged');
  const changed = await applyOne(registry, { ...cm, data: { mode: 'safe', extra: '1' } });
  t.equal(changed.action, 'configured', 'a changed data map is applied');
  t.same((changed.object as ConfigMap).data, { mode: 'safe', extra: '1' });
  await applyOne(registry, { ...cm, data: { mode: 'safe' }, immutable: true });
  await t.rejects(applyOne(registry, { ...cm, data: { mode: 'other' }, immutable: true }), { message: 'ConfigMap "app" is invalid: data: Forbidden: field is immutable when `immutable` is set' });
  await t.rejects(applyOne(registry, { ...cm, data: { mode: 'safe' } }), { message: 'ConfigMap "app" is invalid: immutable: Forbidden: field is immutable when `immutable` is set' });
  await registry.create<Secret>(secret('s', { immutable: true }));
  await t.rejects(registry.mutate<Secret>('Secret', 'default', 's', (s) => ({ ...s, data: { password: 'eA==' } })), { message: /Secret "s" is invalid: data: Forbidden/ });
});

t.test('what a ConfigMap or Secret may hold: keys, sizes, what each type needs', async (t) => {
  const messages = (doc: object) => validateResource(doc).map((i) => i.message);
  t.same(messages({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==' } }),
    ['Secret default/tls: data["tls.key"]: Required value: a Secret of type kubernetes.io/tls needs the key tls.key']);
  t.match(messages({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pull' }, type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': '{not json' } })[0], /data\["\.dockerconfigjson"\]: Invalid value: "<secret contents redacted>"/);
  t.match(messages({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' }, binaryData: { a: 'eA==' } })[0], /binaryData\.a: Invalid value: "a": duplicate of key "a" in data/);
  t.match(messages({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'bad key': '1' } }).join('\n'), /data/);
  t.match(messages({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { big: 'x'.repeat(1024 * 1024 + 1) } })[0], /at most 1048576 bytes/);
  t.same(messages({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ok' }, data: { a: 'eA==' }, stringData: { a: 'x' } }), [], "a Secret's stringData may override its data");
});

t.test('the encryption config file: errors name the field', async (t) => {
  t.throws(() => parseEncryptionConfig('kind: Nope\n', 'enc.yaml'), { message: 'enc.yaml: kind: expected EncryptionConfiguration (apiVersion apiserver.config.k8s.io/v1)' });
  t.throws(() => parseEncryptionConfig('kind: EncryptionConfiguration\nresources: [{resources: [secrets], providers: [{aesgcm: {keys: [{name: k, secret: c2hvcnQ=}]}}]}]\n', 'enc.yaml'),
    { message: /enc\.yaml: resources\[0\]\.providers\[0\]\.aesgcm\.keys\[0\]\.secret: expected 16, 24 or 32 base64-encoded bytes \(got 5\)/ });
  t.throws(() => parseEncryptionConfig('kind: EncryptionConfiguration\nresources: [{resources: [secrets], providers: [{kms: {}}]}]\n', 'enc.yaml'), { message: /berth does not support kms/ });
});
