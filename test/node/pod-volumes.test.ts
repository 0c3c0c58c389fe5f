// A pod's volumes on a real host: emptyDir on disk and as a size-limited tmpfs, Secrets on a tmpfs
// of their own, configMap files refreshed in place, hostPath types, subPath resolved inside its
// volume (a symlink planted by a container cannot reach the host), and a teardown that unmounts
// before it deletes (a hostPath behind a subPath keeps its files). Root only; every mount is
// removed also when a check fails.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { linuxHostMounts } from '../../agent/node/host-mounts';
import type { ConfigLookup } from '../../agent/node/pod-env';
import { PodVolumes } from '../../agent/node/pod-volumes';
import type { ConfigMap, Container, PersistentVolume, PersistentVolumeClaim, Pod, Secret, Volume } from '../../proto/resources';

let cm: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app' }, data: { 'app.conf': 'mode=fast\n' } };
const secret: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { password: Buffer.from('s3cret').toString('base64') } };
const lookup: ConfigLookup = { configMap: (n) => (n === 'app' ? cm : undefined), secret: (n) => (n === 'db' ? secret : undefined) };

let uids = 0;
function podWith(volumes: Volume[], container: Partial<Container> = {}, fsGroup?: number): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'web', namespace: 'shop', uid: `uid-${process.pid}-${++uids}` },
    spec: { volumes, containers: [{ name: 'c', image: 'x', ...container }], ...(fsGroup !== undefined ? { securityContext: { fsGroup } } : {}) },
  };
}

function setup(t: Test) {
  const root = t.testdir();
  const volumes = new PodVolumes({ root, mounts: linuxHostMounts });
  // Also when a check fails: nothing of ours stays mounted.
  t.teardown(() => linuxHostMounts.unmountUnder(root));
  return { root, volumes };
}

const mounted = (p: string) => linuxHostMounts.isMountPoint(p);

t.test('emptyDir on disk and in memory, sizeLimit as the tmpfs size', async (t) => {
  const { volumes } = setup(t);
  const pod = podWith([{ name: 'scratch', emptyDir: {} }, { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }], {
    volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }, { name: 'cache', mountPath: '/cache', readOnly: true }],
  }, 2000);
  t.same(await volumes.setUp(pod, lookup, {}), { ok: true });
  const result = await volumes.containerMounts(pod, pod.spec.containers[0]!, new Map());
  if (!result.ok) throw new Error(result.message);
  const [scratch, cache] = result.mounts;
  t.match(scratch, { destination: '/scratch', readonly: false });
  t.match(cache, { destination: '/cache', readonly: true });
  t.match(scratch!.source, /\/volumes\/kubernetes\.io~empty-dir\/scratch$/);
  t.notOk(mounted(scratch!.source), 'on disk: a plain directory');
  const stat = fs.statSync(scratch!.source);
  t.equal(stat.mode & 0o7777, 0o2777, 'world-writable, setgid for the fsGroup');
  t.equal(stat.gid, 2000, 'owned by the fsGroup');
  t.ok(mounted(cache!.source), 'Memory: a tmpfs');
  t.throws(() => fs.writeFileSync(path.join(cache!.source, 'big'), Buffer.alloc(2 * 1024 * 1024)), { code: 'ENOSPC' }, 'no more than sizeLimit');
  t.same(await volumes.setUp(pod, lookup, {}), { ok: true }, 'a second setUp is harmless (an agent restart)');
  t.equal(linuxHostMounts.mountsUnder(volumes.podDir(pod.metadata.uid!)).length, 1, 'and mounts nothing twice');
  await volumes.tearDown(pod.metadata.uid!);
  t.notOk(fs.existsSync(volumes.podDir(pod.metadata.uid!)), 'torn down: nothing left');
  t.notOk(mounted(cache!.source));
});

t.test('configMap on disk, Secret on a tmpfs, always read-only; updates reach the files', async (t) => {
  const { volumes } = setup(t);
  const pod = podWith([{ name: 'conf', configMap: { name: 'app' } }, { name: 'creds', secret: { secretName: 'db', defaultMode: 0o400 } }], {
    volumeMounts: [{ name: 'conf', mountPath: '/etc/app' }, { name: 'creds', mountPath: '/etc/creds' }, { name: 'conf', mountPath: '/etc/app.conf', subPath: 'app.conf' }],
  });
  t.same(await volumes.setUp(pod, lookup, {}), { ok: true });
  const result = await volumes.containerMounts(pod, pod.spec.containers[0]!, new Map());
  if (!result.ok) throw new Error(result.message);
  const [conf, creds, file] = result.mounts;
  t.ok(conf!.readonly && creds!.readonly && file!.readonly, 'object volumes are mounted read-only');
  t.equal(fs.readFileSync(path.join(conf!.source, 'app.conf'), 'utf8'), 'mode=fast\n');
  t.notOk(mounted(conf!.source), 'a configMap is on disk');
  t.ok(mounted(creds!.source), 'a Secret is on a tmpfs: never written to disk');
  t.equal(fs.readFileSync(path.join(creds!.source, 'password'), 'utf8'), 's3cret');
  t.equal(fs.statSync(path.join(creds!.source, 'password')).mode & 0o777, 0o400, 'defaultMode');
  t.equal(fs.readFileSync(file!.source, 'utf8'), 'mode=fast\n', "a subPath through the volume's own ..data link");
  t.ok(mounted(file!.source), 'bound by descriptor');

  cm = { ...cm, data: { 'app.conf': 'mode=slow\n' } };
  t.equal(await volumes.refresh(pod, lookup, {}), true, 'a changed ConfigMap is written');
  t.equal(fs.readFileSync(path.join(conf!.source, 'app.conf'), 'utf8'), 'mode=slow\n', 'the running pod sees the update');
  t.equal(fs.readFileSync(file!.source, 'utf8'), 'mode=fast\n', 'a subPath mount keeps the version it was made with, as in Kubernetes');
  t.equal(await volumes.refresh(pod, lookup, {}), false, 'unchanged: nothing written');
  const again = await volumes.containerMounts(pod, pod.spec.containers[0]!, new Map());
  t.equal(again.ok && fs.readFileSync(again.mounts[2]!.source, 'utf8'), 'mode=slow\n', 'a container that starts again gets its subPath bound anew (the old version was removed)');
  await volumes.tearDown(pod.metadata.uid!);
  t.notOk(fs.existsSync(volumes.podDir(pod.metadata.uid!)));
});

t.test("a pod's containers set its volumes up at once: one tmpfs, one version", async (t) => {
  const { volumes } = setup(t);
  const pod = podWith([{ name: 'creds', secret: { secretName: 'db' } }, { name: 'conf', configMap: { name: 'app' } }]);
  const results = await Promise.all([1, 2, 3, 4].map(() => volumes.setUp(pod, lookup, {})));
  t.ok(results.every((r) => r.ok));
  t.equal(linuxHostMounts.mountsUnder(volumes.podDir(pod.metadata.uid!)).length, 1, 'the Secret volume is mounted once');
  const conf = path.join(volumes.podDir(pod.metadata.uid!), 'volumes', 'kubernetes.io~configmap', 'conf');
  t.equal(fs.readdirSync(conf).filter((n) => n.startsWith('..') && n !== '..data').length, 1, 'one version written');
  await volumes.tearDown(pod.metadata.uid!);
});

t.test('a claim: waits until bound, then its volume\'s directory is bound into the pod (made on first use, 0777), and stays across a teardown', async (t) => {
  const { root, volumes } = setup(t);
  const storage = t.testdir();
  const source = path.join(storage, 'pvc-1_shop_data');
  const claim = (volumeName?: string): PersistentVolumeClaim => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'shop' }, spec: { ...(volumeName ? { volumeName } : {}) } });
  const pv: PersistentVolume = { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pvc-1' }, spec: { hostPath: { path: source, type: 'DirectoryOrCreate' }, persistentVolumeReclaimPolicy: 'Delete' } };
  const noted: string[] = [];
  const withNotes = new PodVolumes({ root, mounts: linuxHostMounts, noteVolume: (v) => noted.push(v.metadata.name!) });
  const pod = podWith([{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }], { volumeMounts: [{ name: 'data', mountPath: '/var/lib/db' }] });
  t.same(await volumes.setUp(pod, lookup, {}), { ok: false, volume: 'data', message: 'persistentvolumeclaim "data" not found' });
  t.same(await volumes.setUp(pod, { ...lookup, claim: () => ({ claim: claim() }) }, {}), { ok: false, volume: 'data', message: 'persistentvolumeclaim "data" is not bound to a volume yet' });
  t.same(await volumes.setUp(pod, { ...lookup, claim: () => ({ claim: claim('pvc-1') }) }, {}), { ok: false, volume: 'data', message: 'persistentvolume "pvc-1" (of claim "data") not found' });
  t.same(await withNotes.setUp(pod, { ...lookup, claim: () => ({ claim: claim('pvc-1'), volume: pv }) }, {}), { ok: true });
  t.same(noted, ['pvc-1'], 'the node learns its reclaim policy');
  t.equal(fs.statSync(source).mode & 0o777, 0o777, 'made on first use, writable by any user of the pod');
  const dir = path.join(root, pod.metadata.uid!, 'volumes', 'kubernetes.io~local-volume', 'data');
  t.ok(mounted(dir));
  fs.writeFileSync(path.join(dir, 'row'), '1');
  t.equal(fs.readFileSync(path.join(source, 'row'), 'utf8'), '1', 'the pod writes into the volume');
  const mounts = await withNotes.containerMounts(pod, pod.spec.containers[0]!, new Map());
  t.same(mounts, { ok: true, mounts: [{ source: dir, destination: '/var/lib/db', readonly: false }] });
  t.same(await withNotes.setUp(pod, lookup, {}), { ok: true }, 'mounted once, it stays, whatever becomes of the claim');
  await withNotes.tearDown(pod.metadata.uid!);
  t.notOk(fs.existsSync(dir));
  t.equal(fs.readFileSync(path.join(source, 'row'), 'utf8'), '1', 'the data outlives the pod');
});

t.test('a missing object is named; propagation is refused clearly', async (t) => {
  const { volumes } = setup(t);
  t.same(await volumes.setUp(podWith([{ name: 'conf', configMap: { name: 'nope' } }]), lookup, {}), { ok: false, volume: 'conf', message: 'configmap "nope" not found' });
  const pod = podWith([{ name: 'v', emptyDir: {} }], { volumeMounts: [{ name: 'v', mountPath: '/v', mountPropagation: 'Bidirectional' }] });
  await volumes.setUp(pod, lookup, {});
  t.same(await volumes.containerMounts(pod, pod.spec.containers[0]!, new Map()),
    { ok: false, message: 'volumeMount "v": mountPropagation Bidirectional is not supported by this node (only None)' });
});

t.test("hostPath types; a subPath cannot leave its volume through a container's symlink", async (t) => {
  const { root, volumes } = setup(t);
  const host = t.testdir({ 'a-file': 'x', data: { 'keep.txt': 'host data' } });
  const check = async (hostPath: Volume['hostPath']) => {
    const r = await volumes.setUp(podWith([{ name: 'h', hostPath }]), lookup, {});
    return r.ok ? 'ok' : r.message;
  };
  t.equal(await check({ path: path.join(host, 'a-file'), type: 'Directory' }), `hostPath type check failed: ${path.join(host, 'a-file')} is not a directory`);
  t.equal(await check({ path: path.join(host, 'data'), type: 'File' }), `hostPath type check failed: ${path.join(host, 'data')} is not a file`);
  t.equal(await check({ path: path.join(host, 'new', 'dir'), type: 'DirectoryOrCreate' }), 'ok');
  t.ok(fs.statSync(path.join(host, 'new', 'dir')).isDirectory(), 'DirectoryOrCreate made it');
  t.equal(await check({ path: path.join(host, 'missing'), type: 'Socket' }), `hostPath type check failed: ${path.join(host, 'missing')} is not a socket`);

  // A container wrote links into its emptyDir: to the host's root, and upwards.
  const pod = podWith([{ name: 'scratch', emptyDir: {} }, { name: 'h', hostPath: { path: path.join(host, 'data') } }], {
    env: [{ name: 'SUB', value: 'logs' }],
    volumeMounts: [
      { name: 'scratch', mountPath: '/a', subPath: 'to-root' },
      { name: 'scratch', mountPath: '/b', subPath: 'up/etc' },
      { name: 'scratch', mountPath: '/c', subPathExpr: '$(SUB)/today' },
      { name: 'h', mountPath: '/d', subPath: '.' },
    ],
  });
  t.same(await volumes.setUp(pod, lookup, {}), { ok: true });
  const scratch = path.join(volumes.podDir(pod.metadata.uid!), 'volumes', 'kubernetes.io~empty-dir', 'scratch');
  fs.symlinkSync('/', path.join(scratch, 'to-root'));
  fs.symlinkSync('../../..', path.join(scratch, 'up'));
  const result = await volumes.containerMounts(pod, pod.spec.containers[0]!, new Map([['SUB', 'logs']]));
  if (!result.ok) throw new Error(result.message);
  const [a, b, c, d] = result.mounts;
  const seen = fs.readdirSync(a!.source);
  t.ok(seen.includes('to-root') && !seen.includes('proc') && !seen.includes('usr'), "the link to / resolves to the volume's own root, not the host's");
  t.same(fs.readdirSync(b!.source), [], "up/etc stays inside the volume (made there), not the host's /etc");
  t.ok(fs.existsSync(path.join(scratch, 'etc')), 'made inside the volume');
  t.ok(fs.statSync(path.join(scratch, 'logs', 'today')).isDirectory(), 'subPathExpr expanded from the environment, made as a directory');
  t.equal(c!.source.startsWith(root), true);
  t.same(fs.readdirSync(d!.source), ['keep.txt'], 'a subPath of a hostPath');

  await volumes.tearDown(pod.metadata.uid!);
  t.equal(fs.readFileSync(path.join(host, 'data', 'keep.txt'), 'utf8'), 'host data', 'the teardown unmounted before deleting: the host keeps its files');
  t.notOk(fs.existsSync(volumes.podDir(pod.metadata.uid!)));
  t.same(linuxHostMounts.mountsUnder(root), []);
});

t.test('bad subPaths are refused by name', async (t) => {
  const { volumes } = setup(t);
  const pod = podWith([{ name: 'v', emptyDir: {} }], { volumeMounts: [{ name: 'v', mountPath: '/v', subPathExpr: '/$(X)' }] });
  await volumes.setUp(pod, lookup, {});
  t.same(await volumes.containerMounts(pod, pod.spec.containers[0]!, new Map([['X', 'etc']])),
    { ok: false, message: 'volumeMount "v": subPath "/etc" must be a relative path without \'..\'' });
  // tmpfs support present: the kernel's mount table lists it (keeps the test honest about what it ran on).
  t.match(execFileSync('cat', ['/proc/filesystems'], { encoding: 'utf8' }), /tmpfs/);
});
