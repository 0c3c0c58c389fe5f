// A pod's configMap, secret, downwardAPI and projected volumes: which files with which modes
// (pure), and the kubelet's atomic ..data swap on a real directory, so a reader never sees half
// an update and keys a new version drops are gone.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { writeAtomically } from '../../agent/node/atomic-writer';
import type { ConfigLookup } from '../../agent/node/pod-env';
import { volumeFiles } from '../../agent/node/volume-files';
import type { ConfigMap, Pod, Secret, Volume } from '../../proto/resources';

let cm: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app' }, data: { 'app.conf': 'mode=fast\n', other: 'x' }, binaryData: { 'logo.bin': Buffer.from([1, 2, 3]).toString('base64') } };
const secret: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { password: Buffer.from('s3cret').toString('base64') } };
const lookup: ConfigLookup = { configMap: (n) => (n === 'app' ? cm : undefined), secret: (n) => (n === 'db' ? secret : undefined) };
const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web', tier: 'front' } }, spec: { containers: [{ name: 'c', image: 'x' }] } };
const files = (volume: Volume) => {
  const r = volumeFiles(pod, volume, lookup, { podIP: '10.42.0.7' });
  if (!r) return 'not projected';
  return r.ok ? Object.fromEntries([...r.files].map(([p, f]) => [p, [f.bytes.toString('latin1'), f.mode.toString(8)]])) : r.message;
};

t.test('every key, or the items, with their modes; missing ones refused unless optional', async (t) => {
  t.same(files({ name: 'v', configMap: { name: 'app' } }), { 'app.conf': ['mode=fast\n', '644'], other: ['x', '644'], 'logo.bin': ['\x01\x02\x03', '644'] });
  t.same(files({ name: 'v', configMap: { name: 'app', items: [{ key: 'app.conf', path: 'conf/app.conf', mode: 0o600 }], defaultMode: 0o444 } }), { 'conf/app.conf': ['mode=fast\n', '600'] });
  t.same(files({ name: 'v', secret: { secretName: 'db', defaultMode: 0o400 } }), { password: ['s3cret', '400'] });
  t.equal(files({ name: 'v', secret: { secretName: 'gone' } }), 'secret "gone" not found');
  t.same(files({ name: 'v', secret: { secretName: 'gone', optional: true } }), {}, 'optional: an empty volume');
  t.equal(files({ name: 'v', configMap: { name: 'app', items: [{ key: 'nope', path: 'x' }] } }), 'configmap references non-existent config key: nope');
  t.equal(files({ name: 'v', configMap: { name: 'app', items: [{ key: 'other', path: '../escape' }] } }), 'volume v: "../escape": must not contain \'..\'');
  t.equal(files({ name: 'v', emptyDir: {} }), 'not projected');
});

t.test('downwardAPI and projected volumes', async (t) => {
  t.same(files({ name: 'v', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'ip', fieldRef: { fieldPath: 'status.podIP' } }] } }),
    { labels: ['app="web"\ntier="front"', '644'], ip: ['10.42.0.7', '644'] });
  t.same(files({ name: 'v', projected: { defaultMode: 0o440, sources: [{ configMap: { name: 'app', items: [{ key: 'other', path: 'o' }] } }, { secret: { name: 'db' } }, { downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } }] } }),
    { o: ['x', '440'], password: ['s3cret', '440'], name: ['web-1', '440'] });
});

t.test('the atomic writer: ..data swapped whole, links per top-level entry, dropped keys gone', async (t) => {
  const dir = path.join(t.testdir(), 'vol');
  const project = () => { const r = volumeFiles(pod, { name: 'v', configMap: { name: 'app' } }, lookup, {}); return r && r.ok ? r.files : new Map(); };
  t.equal(await writeAtomically(dir, project()), true);
  t.equal(fs.readFileSync(path.join(dir, 'app.conf'), 'utf8'), 'mode=fast\n');
  t.equal(fs.readlinkSync(path.join(dir, 'app.conf')), '..data/app.conf', 'a link through ..data');
  const first = fs.readlinkSync(path.join(dir, '..data'));
  t.equal(await writeAtomically(dir, project()), false, 'the same content writes nothing');
  t.equal(fs.readlinkSync(path.join(dir, '..data')), first);

  // A reader holding the old version's file open keeps reading it whole while the new one lands.
  const held = fs.openSync(path.join(dir, 'app.conf'), 'r');
  cm = { ...cm, data: { 'app.conf': 'mode=safe\n' }, binaryData: {} };
  t.equal(await writeAtomically(dir, project()), true);
  t.equal(fs.readFileSync(path.join(dir, 'app.conf'), 'utf8'), 'mode=safe\n', 'the path now reads the new version');
  const buf = Buffer.alloc(64);
  t.equal(buf.subarray(0, fs.readSync(held, buf, 0, 64, 0)).toString(), 'mode=fast\n', 'the old version, whole, for whoever had it open');
  fs.closeSync(held);
  t.notOk(fs.existsSync(path.join(dir, 'other')) || fs.existsSync(path.join(dir, 'logo.bin')), 'keys the new version lacks are gone');
  t.same(fs.readdirSync(dir).filter((e) => e.startsWith('..') && e !== '..data').length, 1, 'only the current version directory is left');
  t.not(fs.readlinkSync(path.join(dir, '..data')), first);
});
