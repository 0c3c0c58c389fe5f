// Pulls from a real docker-registry into a real data root: layers unpacked once into snapshots,
// shared between images, verified, and stacked with a real overlay mount.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { isBerthError } from '../../proto/errors';
import type { ProgressEvent } from '../../agent/images/types';
import type { ImageUsers } from '../../agent/images/service';
import { buildImage, buildIndex, busyboxLayer, pushImage, pushIndex, type LayerEntry, type LayerSpec } from '../fixtures/images';
import { startFaultyServer, startRegistry } from '../fixtures/registry';
import { openTestImageService } from '../fixtures/service';

const appLayer: LayerEntry[] = [
  { path: 'app', type: 'dir' },
  { path: 'app/hello.txt', type: 'file', content: 'hello from layer two\n' },
  { path: 'etc', type: 'dir' },
  { path: 'etc/.wh.group', type: 'file', content: '' },
];

const layerEvents = (events: ProgressEvent[], status: string) =>
  events.filter((e) => e.kind === 'layer' && e.status === status).map((e) => (e as { digest: string }).digest);

t.test('pull by tag unpacks each layer once and records the image', async (t) => {
  const registry = await startRegistry(t);
  const image = await buildImage({ layers: [busyboxLayer(), appLayer] });
  await pushImage(registry.host, 'demo/app:1.0', image);
  const service = await openTestImageService(t);

  const events: ProgressEvent[] = [];
  const record = await service.pull(`${registry.host}/demo/app:1.0`, { onProgress: (e) => events.push(e) });
  t.equal(record.id, image.config.descriptor.digest, 'image ID is the config digest');
  t.same(record.repoTags, [`${registry.host}/demo/app:1.0`]);
  t.same(record.repoDigests, [`${registry.host}/demo/app@${image.manifest.descriptor.digest}`]);
  t.equal(layerEvents(events, 'complete').length, 2, 'both layers downloaded');
  t.equal(record.size, image.layers.reduce((n, l) => n + l.tar.length, 0) > 0 ? record.size : -1);
  t.ok(record.size >= fs.statSync('/bin/busybox').size, 'size counts unpacked content');

  const base = service.snapshots.dirOf(record.layers[0]!.chainId);
  t.equal(fs.readFileSync(path.join(base, 'bin/busybox')).length, fs.statSync('/bin/busybox').size);
  t.equal(fs.readlinkSync(path.join(base, 'bin/sh')), 'busybox');
  const top = service.snapshots.dirOf(record.layers[1]!.chainId);
  t.equal(fs.readFileSync(path.join(top, 'app/hello.txt'), 'utf8'), 'hello from layer two\n');
  const whiteout = fs.lstatSync(path.join(top, 'etc/group'));
  t.ok(whiteout.isCharacterDevice() && whiteout.rdev === 0, 'OCI whiteout became an overlay whiteout');

  for (const d of [image.manifest.descriptor.digest, image.config.descriptor.digest, ...image.layers.map((l) => l.descriptor.digest)]) {
    t.equal(await service.content.size(d), d === image.manifest.descriptor.digest ? image.manifest.bytes.length : await service.content.size(d), `${d} stored`);
    t.ok((await service.content.size(d)) !== undefined, `blob ${d} in the content store`);
  }

  const again: ProgressEvent[] = [];
  await service.pull(`${registry.host}/demo/app:1.0`, { onProgress: (e) => again.push(e) });
  t.equal(layerEvents(again, 'exists').length, 2, 'a second pull downloads nothing');
  const done = again.find((e) => e.kind === 'done');
  t.match(done, { status: /Image is up to date/ });
  t.equal(service.list().length, 1);
});

t.test('a second image sharing the base downloads only its own layer; overlay shows the final tree', async (t) => {
  const upstream = await startRegistry(t);
  const proxy = await startFaultyServer(t, (_req, _res, ctx) => ctx.proxy(), { upstream: upstream.host });
  const first = await buildImage({ layers: [busyboxLayer()] });
  const second = await buildImage({ layers: [busyboxLayer(), appLayer] });
  await pushImage(upstream.host, 'base:1', first);
  await pushImage(upstream.host, 'app:2', second);
  const service = await openTestImageService(t);
  await service.pull(`${proxy.host}/base:1`);
  const before = proxy.requests.length;
  const record = await service.pull(`${proxy.host}/app:2`);
  const blobGets = proxy.requests.slice(before).filter((r) => r.method === 'GET' && r.url.includes('/blobs/'));
  t.same(blobGets.map((r) => r.url.split('/blobs/')[1]), [second.config.descriptor.digest, second.layers[1]!.descriptor.digest], 'only the config and the new layer were fetched');
  t.equal((await service.snapshots.list()).length, 2, 'the base snapshot is shared');

  // (t.testdir() again would wipe the service's root: a directory of our own.)
  const merged = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-merged-'));
  t.teardown(() => fs.rmSync(merged, { recursive: true, force: true }));
  const lower = [...record.layers].reverse().map((l) => service.snapshots.dirOf(l.chainId)).join(':');
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower}`, merged]);
  t.teardown(() => execFileSync('umount', [merged]));
  t.ok(fs.existsSync(path.join(merged, 'bin/busybox')), 'base layer visible');
  t.equal(fs.readFileSync(path.join(merged, 'app/hello.txt'), 'utf8'), 'hello from layer two\n');
  t.notOk(fs.existsSync(path.join(merged, 'etc/group')), 'the file deleted by the top layer is gone');
  t.ok(fs.existsSync(path.join(merged, 'etc/passwd')), 'its sibling stays');
});

/**
 * The image `name` of layers, pushed, pulled by berth and by umoci: berth's snapshots stacked
 * as an overlay (what its containers see), and the tree umoci unpacks from the same registry.
 */
async function berthAndUmoci(t: Test, name: string, layers: LayerSpec[]) {
  const registry = await startRegistry(t);
  await pushImage(registry.host, name, await buildImage({ layers }));
  const service = await openTestImageService(t);
  const record = await service.pull(`${registry.host}/${name}`);

  const merged = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-merged-'));
  t.teardown(() => fs.rmSync(merged, { recursive: true, force: true }));
  const lower = [...record.layers].reverse().map((l) => service.snapshots.dirOf(l.chainId)).join(':');
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower}`, merged]);
  t.teardown(() => execFileSync('umount', [merged]));

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-umoci-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${registry.host}/${name}`, `oci:${work}/layout:1`], { stdio: 'ignore' });
  execFileSync('umoci', ['unpack', '--image', `${work}/layout:1`, `${work}/bundle`], { stdio: 'ignore' });
  return { service, record, merged, rootfs: path.join(work, 'bundle', 'rootfs') };
}

t.test('a layer that hard-links a file of a lower layer unpacks to the tree umoci makes', async (t) => {
  const tool: LayerEntry[] = [
    { path: 'opt', type: 'dir' },
    { path: 'opt/tool', type: 'file', content: 'tool v1\n', mode: 0o750, uid: 1000, gid: 100 },
  ];
  // Layer three links opt/tool (in layer two) from a directory neither lower layer has.
  const links: LayerEntry[] = [{ path: 'opt/bin/tool-link', type: 'link', linkname: 'opt/tool' }];
  const { service, record, merged, rootfs } = await berthAndUmoci(t, 'links:1', [busyboxLayer(), tool, links]);

  for (const [who, root] of [['berth', merged], ['umoci', rootfs]] as const) {
    const target = fs.statSync(path.join(root, 'opt/tool'));
    const link = fs.statSync(path.join(root, 'opt/bin/tool-link'));
    t.equal(link.ino, target.ino, `${who}: the link and its target are one inode`);
    t.equal(fs.readFileSync(path.join(root, 'opt/bin/tool-link'), 'utf8'), 'tool v1\n', `${who}: its content`);
    t.same([link.mode & 0o7777, link.uid, link.gid], [0o750, 1000, 100], `${who}: its mode and owner`);
    t.equal(link.nlink, 2, `${who}: two names`);
  }
  t.equal(fs.readFileSync(path.join(service.snapshots.dirOf(record.layers[1]!.chainId), 'opt/tool'), 'utf8'), 'tool v1\n', 'the lower layer keeps its file');
});

t.test('a layer that writes through its own dangling symlink unpacks to the tree umoci makes', async (t) => {
  // usr/lib64 exists in no layer: the write through opt/lib makes it (containerd and umoci both).
  const layer: LayerEntry[] = [
    { path: 'opt', type: 'dir', mode: 0o700 },
    { path: 'opt/lib', type: 'symlink', linkname: '../usr/lib64' },
    { path: 'opt/lib/plugins/a.so', type: 'file', content: 'plugin a\n', mode: 0o640 },
  ];
  const { merged, rootfs } = await berthAndUmoci(t, 'dangling:1', [busyboxLayer(), layer]);

  const view = (root: string) => ['opt/lib', 'usr/lib64', 'usr/lib64/plugins', 'usr/lib64/plugins/a.so'].map((p) => {
    const st = fs.lstatSync(path.join(root, p));
    const what = st.isSymbolicLink() ? `-> ${fs.readlinkSync(path.join(root, p))}` : st.isFile() ? fs.readFileSync(path.join(root, p), 'utf8') : 'dir';
    return `${p} ${(st.mode & 0o7777).toString(8)} ${what}`;
  });
  t.same(view(merged), view(rootfs), 'berth shows the tree umoci unpacks');
  t.match(view(merged), ['opt/lib 777 -> ../usr/lib64', 'usr/lib64 755 dir', 'usr/lib64/plugins 755 dir', 'usr/lib64/plugins/a.so 640 plugin a\n']);
});

t.test('a layer that does not list the directories it writes into keeps theirs from below, as umoci and containerd do', async (t) => {
  const base: LayerEntry[] = [
    { path: 'tmp', type: 'dir', mode: 0o1777 },
    { path: 'var', type: 'dir' },
    { path: 'var/www', type: 'dir', mode: 0o750, uid: 33, gid: 33 },
  ];
  // Only files: tmp/, var/ and var/www/ are implied, as tools that append files to an image write them.
  const appended: LayerEntry[] = [
    { path: 'tmp/cache/seed', type: 'file', content: 'seed\n' },
    { path: 'var/www/index.html', type: 'file', content: '<p>hi</p>\n', uid: 33, gid: 33 },
  ];
  const { merged, rootfs } = await berthAndUmoci(t, 'implied:1', [busyboxLayer(), base, appended]);
  const view = (root: string) => ['tmp', 'tmp/cache', 'var/www', 'var/www/index.html'].map((p) => {
    const st = fs.lstatSync(path.join(root, p));
    return `${p} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
  });
  t.same(view(merged), view(rootfs), 'berth shows the modes and owners umoci unpacks');
  t.match(view(merged), ['tmp 1777 0:0', 'tmp/cache 755 0:0', 'var/www 750 33:33', 'var/www/index.html 644 33:33']);
});

t.test('a layer of GNU sparse files (tar --sparse) unpacks to the bytes umoci gives, holes kept', async (t) => {
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-sparse-'));
  t.teardown(() => fs.rmSync(src, { recursive: true, force: true }));
  fs.mkdirSync(path.join(src, 'var/lib'), { recursive: true });
  const fd = fs.openSync(path.join(src, 'var/lib/disk.img'), 'w');
  fs.writeSync(fd, Buffer.alloc(4096, 'x'), 0, 4096, 1 << 20);
  fs.ftruncateSync(fd, 8 << 20);
  fs.closeSync(fd);
  const tar = execFileSync('tar', ['--sparse', '--format=posix', '--owner=0', '--group=0', '-C', src, '-cf', '-', 'var'], { maxBuffer: 16 << 20 });
  const { merged, rootfs } = await berthAndUmoci(t, 'sparse:1', [busyboxLayer(), { tar }]);
  const sum = (root: string) => execFileSync('sha256sum', [path.join(root, 'var/lib/disk.img')], { encoding: 'utf8' }).split(' ')[0];
  t.equal(sum(merged), sum(rootfs), 'berth shows the bytes umoci unpacks');
  t.equal(fs.statSync(path.join(merged, 'var/lib/disk.img')).size, 8 << 20, 'the real size');
  t.ok(fs.statSync(path.join(merged, 'var/lib/disk.img')).blocks * 512 < 1 << 20, 'holes, not 8 MiB of zeros');
});

t.test('indexes: the platform asked for is chosen; docker schema2, zstd and plain layers; many layers', async (t) => {
  const registry = await startRegistry(t);
  const amd = await buildImage({ layers: [busyboxLayer()], compression: 'zstd' });
  const arm = await buildImage({ layers: [[{ path: 'arch', type: 'file', content: 'arm64' }]], platform: { os: 'linux', architecture: 'arm64' }, compression: 'none' });
  await pushIndex(registry.host, 'multi:1', buildIndex([amd, arm]));
  const docker = await buildImage({ layers: [busyboxLayer()], format: 'docker', config: { config: { Env: ['FROM=docker'] } } });
  await pushImage(registry.host, 'docker:1', docker);
  const many = await buildImage({ layers: Array.from({ length: 64 }, (_, i) => [{ path: `f${i}`, type: 'file' as const, content: `layer ${i}` }]) });
  await pushImage(registry.host, 'many:1', many);

  const service = await openTestImageService(t);
  const a = await service.pull(`${registry.host}/multi:1`);
  t.equal(a.id, amd.config.descriptor.digest, 'linux/amd64 by default');
  t.ok(a.index, 'the index is recorded');
  const b = await service.pull(`${registry.host}/multi:1`, { platform: { os: 'linux', architecture: 'arm64' } });
  t.equal(b.id, arm.config.descriptor.digest, 'linux/arm64 when asked');
  t.equal(fs.readFileSync(path.join(service.snapshots.dirOf(b.layers[0]!.chainId), 'arch'), 'utf8'), 'arm64');
  await t.rejects(service.pull(`${registry.host}/multi:1`, { platform: { os: 'linux', architecture: 's390x' } }), /no manifest for platform linux\/s390x in index \(it offers linux\/amd64, linux\/arm64\)/);

  const d = await service.pull(`${registry.host}/docker:1`);
  t.equal(d.manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  t.equal(d.layers[0]!.chainId, a.layers[0]!.chainId, 'same content, same snapshot, whatever the compression');

  const m = await service.pull(`${registry.host}/many:1`);
  t.equal(m.layers.length, 64);
  t.equal(fs.readFileSync(path.join(service.snapshots.dirOf(m.layers[63]!.chainId), 'f63'), 'utf8'), 'layer 63');

  const pinned = await service.pull(`${registry.host}/docker@${docker.manifest.descriptor.digest}`);
  t.equal(pinned.id, d.id, 'pull by digest');
});

t.test('a connection cut mid-layer is resumed, not restarted', async (t) => {
  const upstream = await startRegistry(t);
  const big = await buildImage({ layers: [[{ path: 'big.bin', type: 'file', content: Buffer.alloc(3 * 1024 * 1024, 7) }]], compression: 'none' });
  await pushImage(upstream.host, 'big:1', big);
  let cut = false;
  const proxy = await startFaultyServer(t, (req, _res, ctx) => {
    if (!cut && req.url?.includes(big.layers[0]!.descriptor.digest) && req.method === 'GET') {
      cut = true;
      return ctx.proxy({ cutAfter: 1024 * 1024 });
    }
    return ctx.proxy();
  }, { upstream: upstream.host });
  const service = await openTestImageService(t);
  const events: ProgressEvent[] = [];
  const record = await service.pull(`${proxy.host}/big:1`, { onProgress: (e) => events.push(e) });
  t.ok(layerEvents(events, 'resuming').length >= 1, 'a resume was reported');
  t.ok(proxy.requests.some((r) => typeof r.headers.range === 'string' && r.headers.range.startsWith('bytes=')), 'a Range request was made');
  t.equal(fs.statSync(path.join(service.snapshots.dirOf(record.layers[0]!.chainId), 'big.bin')).size, 3 * 1024 * 1024);
});

t.test('bad content: clear errors naming image and layer, and nothing half-written stays', async (t) => {
  const registry = await startRegistry(t);
  const good = await buildImage({ layers: [busyboxLayer(), appLayer] });
  await pushImage(registry.host, 'good:1', good);

  const assertClean = async (service: Awaited<ReturnType<typeof openTestImageService>>, t: Test) => {
    t.same(service.list(), [], 'no image recorded');
    t.same(await service.snapshots.list(), [], 'no snapshot committed');
    t.same(fs.readdirSync(path.join(service.snapshots.dirOf(`sha256:${'0'.repeat(64)}`), '..', '..', 'tmp')), [], 'no partial snapshot left');
  };

  t.test('layer bytes that do not match the digest', async (t) => {
    const wrong = good.layers[1]!.descriptor.digest;
    const proxy = await startFaultyServer(t, (req, res, ctx) => {
      if (req.url?.includes(`/blobs/${wrong}`)) {
        const bytes = Buffer.from(good.layers[1]!.bytes);
        bytes[bytes.length - 5] ^= 0xff;
        res.writeHead(200, { 'content-length': bytes.length, 'docker-content-digest': wrong });
        return void res.end(bytes);
      }
      return ctx.proxy();
    }, { upstream: registry.host });
    const service = await openTestImageService(t);
    const err = await service.pull(`${proxy.host}/good:1`).then(() => undefined, (e: unknown) => e);
    t.ok(isBerthError(err, 'data-loss'), 'data-loss');
    t.match((err as Error).message, new RegExp(`^image ${proxy.host}/good:1: layer ${wrong}: .*digest`));
    t.same(service.list(), []);
    t.equal(await service.content.size(wrong), undefined, 'the bad blob is not in the store');
  });

  t.test('a config whose diff ID does not match the layer', async (t) => {
    const base = await buildImage({ layers: [busyboxLayer()] });
    const lying = await buildImage({ layers: [busyboxLayer()], config: { rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] } } });
    lying.config.json.rootfs.diff_ids = [`sha256:${'a'.repeat(64)}`];
    const configBytes = Buffer.from(JSON.stringify(lying.config.json));
    const { digestOf } = await import('../fixtures/images');
    const configDesc = { ...lying.config.descriptor, digest: digestOf(configBytes), size: configBytes.length };
    const manifestBytes = Buffer.from(JSON.stringify({ ...lying.manifest.json, config: configDesc }));
    const { pushBlob, pushManifest } = await import('../fixtures/images');
    await pushBlob(registry.host, 'lying', base.layers[0]!);
    await pushBlob(registry.host, 'lying', { descriptor: configDesc, bytes: configBytes });
    await pushManifest(registry.host, 'lying', '1', lying.manifest.descriptor.mediaType, manifestBytes);
    const service = await openTestImageService(t);
    await t.rejects(service.pull(`${registry.host}/lying:1`), { code: 'data-loss', message: /layer sha256:[a-f0-9]{64}: diff ID mismatch/ });
    await assertClean(service, t);
  });

  t.test('a layer that inflates past the limit', async (t) => {
    const bomb = await buildImage({ layers: [[{ path: 'zeros', type: 'file', content: Buffer.alloc(8 * 1024 * 1024) }]] });
    await pushImage(registry.host, 'bomb:1', bomb);
    const service = await openTestImageService(t, { limits: { maxLayerBytes: 1024 * 1024 } });
    await t.rejects(service.pull(`${registry.host}/bomb:1`), { code: 'resource-exhausted', message: /^image .*bomb:1: layer sha256:[a-f0-9]{64}: .*1048576/ });
    await assertClean(service, t);
  });

  t.test('an unknown layer media type', async (t) => {
    const odd = await buildImage({ layers: [busyboxLayer()] });
    const manifest = { ...odd.manifest.json, layers: [{ ...odd.layers[0]!.descriptor, mediaType: 'application/x-unknown-layer' }] };
    const { pushBlob, pushManifest } = await import('../fixtures/images');
    await pushBlob(registry.host, 'odd', odd.layers[0]!);
    await pushBlob(registry.host, 'odd', odd.config);
    await pushManifest(registry.host, 'odd', '1', odd.manifest.descriptor.mediaType, Buffer.from(JSON.stringify(manifest)));
    const service = await openTestImageService(t);
    await t.rejects(service.pull(`${registry.host}/odd:1`), { code: 'invalid-argument', message: /unknown media type "application\/x-unknown-layer"/ });
    await assertClean(service, t);
  });

  t.test('a malformed config', async (t) => {
    const img = await buildImage({ layers: [busyboxLayer()] });
    const configBytes = Buffer.from(JSON.stringify({ ...img.config.json, rootfs: { type: 'layers', diff_ids: 'nope' } }));
    const { digestOf, pushBlob, pushManifest } = await import('../fixtures/images');
    const configDesc = { ...img.config.descriptor, digest: digestOf(configBytes), size: configBytes.length };
    await pushBlob(registry.host, 'badcfg', img.layers[0]!);
    await pushBlob(registry.host, 'badcfg', { descriptor: configDesc, bytes: configBytes });
    await pushManifest(registry.host, 'badcfg', '1', img.manifest.descriptor.mediaType, Buffer.from(JSON.stringify({ ...img.manifest.json, config: configDesc })));
    const service = await openTestImageService(t);
    await t.rejects(service.pull(`${registry.host}/badcfg:1`), { code: 'invalid-argument', message: /malformed config: \/rootfs\/diff_ids must be array/ });
    await assertClean(service, t);
  });

  t.test('an unknown repository', async (t) => {
    const service = await openTestImageService(t);
    await t.rejects(service.pull(`${registry.host}/nothing:here`), { code: 'not-found', message: /^image .*nothing:here: / });
  });
});

t.test('tag, rmi, prune: names move, layers are freed only when no image uses them', async (t) => {
  const registry = await startRegistry(t);
  const base = await buildImage({ layers: [busyboxLayer()] });
  const app = await buildImage({ layers: [busyboxLayer(), appLayer] });
  await pushImage(registry.host, 'base:1', base);
  await pushImage(registry.host, 'app:1', app);
  let usersOf: ImageUsers = () => undefined;
  const service = await openTestImageService(t, { usersOf: (id) => usersOf(id) });
  const b = await service.pull(`${registry.host}/base:1`);
  const a = await service.pull(`${registry.host}/app:1`);

  await service.tag(`${registry.host}/app:1`, 'mine:latest');
  t.same(service.resolve('mine').id, a.id, 'short names resolve with :latest');
  t.same(service.resolve(a.id.slice(7, 19)).id, a.id, 'an ID prefix resolves');
  await t.rejects(service.remove(a.id.slice(7, 19)), { code: 'failed-precondition', message: /must be forced.*referenced in multiple repositories/ });

  const untag = await service.remove('mine');
  t.same(untag, { untagged: ['mine:latest'], deleted: [] }, 'removing one of two tags only untags');

  await service.tag(`${registry.host}/app:1`, `${registry.host}/base:1`);
  t.same(service.resolve(b.id).repoTags, [], 'a tag moved away leaves the old image dangling');
  t.same(service.list({ dangling: true }).map((i) => i.id), [b.id]);
  const pruned = await service.prune();
  t.same(pruned.deleted, [b.id], 'prune removes the dangling image');
  t.equal((await service.snapshots.list()).length, 2, 'its layer is shared with app and stays');

  const gone = await service.remove(a.id, { force: true });
  t.same(gone.deleted, [a.id]);
  t.same(await service.snapshots.list(), [], 'every snapshot freed');
  t.same(await service.content.list(), [], 'every blob freed');
  await t.rejects(service.remove('mine'), { code: 'not-found', message: 'No such image: mine' });

  const c = await service.pull(`${registry.host}/app:1`);
  usersOf = (id) => (id === c.id ? 'f00dfeedc0ffee' : undefined);
  await t.rejects(service.remove(`${registry.host}/app:1`), { code: 'failed-precondition', message: /container f00dfeedc0ff is using its referenced image/ });
});

t.test('inspect and history', async (t) => {
  const registry = await startRegistry(t);
  const img = await buildImage({
    layers: [busyboxLayer(), appLayer],
    config: { history: [{ created_by: 'ADD busybox /' }, { created_by: 'ENV A=1', empty_layer: true }, { created_by: 'COPY app /app' }] },
  });
  await pushImage(registry.host, 'hist:1', img);
  const service = await openTestImageService(t);
  const rec = await service.pull(`${registry.host}/hist:1`);
  const doc = await service.inspect(`${registry.host}/hist:1`);
  t.match(doc, { Id: rec.id, Architecture: 'amd64', Os: 'linux', RootFS: { Type: 'layers', Layers: img.layers.map((l) => l.diffId) } });
  const rows = await service.history(rec.id);
  t.same(rows.map((r) => r.createdBy), ['COPY app /app', 'ENV A=1', 'ADD busybox /']);
  t.equal(rows[0]!.id, rec.id, 'the top row carries the image ID');
  t.equal(rows[1]!.size, 0, 'an empty layer has no size');
  t.ok(rows[2]!.size >= fs.statSync('/bin/busybox').size, 'the busybox layer has its size');
});
