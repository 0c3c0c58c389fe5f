// save and load: archives berth writes are read by skopeo and umoci (OCI layout) and carry docker's
// manifest.json; archives skopeo writes (oci-archive, docker-archive) and docker's old format load;
// a damaged archive fails with the member named and leaves no image behind.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { extract as tarExtract } from 'tar-stream';
import { isBerthError } from '../../proto/errors';
import type { ImageService } from '../../agent/images/service';
import type { ImageRecord } from '../../agent/images/types';
import { buildImage, buildTar, busyboxLayer, pushImage, type BuiltImage, type LayerEntry } from '../fixtures/images';
import { startRegistry, type Teardown } from '../fixtures/registry';
import { openTestImageService } from '../fixtures/service';

const appLayer: LayerEntry[] = [
  { path: 'app', type: 'dir' },
  { path: 'app/hello.txt', type: 'file', content: 'hello from the app layer\n' },
];

function tempDir(t: Teardown, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A service in a directory of its own (a test needs several; t.testdir() gives one). */
async function freshService(t: Teardown): Promise<ImageService> {
  const root = tempDir(t, 'berth-archive-');
  return openTestImageService({ teardown: (fn) => t.teardown(fn), testdir: () => root }, { root });
}

async function saveToFile(service: ImageService, names: string[], file: string): Promise<void> {
  const out = fs.createWriteStream(file);
  const closed = new Promise<void>((resolve) => out.once('close', () => resolve()));
  await service.save(names, out);
  await closed;
}

/** Members of a tar, in order (test archives are small). */
async function readTar(bytes: Buffer): Promise<{ name: string; type: string; data: Buffer; linkname?: string }[]> {
  const extract = tarExtract();
  Readable.from([bytes]).pipe(extract);
  const out: { name: string; type: string; data: Buffer; linkname?: string }[] = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry as unknown as AsyncIterable<Buffer>) chunks.push(c);
    out.push({ name: entry.header.name, type: entry.header.type, data: Buffer.concat(chunks), ...(entry.header.linkname ? { linkname: entry.header.linkname } : {}) });
  }
  return out;
}

/** Write a tar from members (files, or symlinks when linkname is set). */
function writeTar(members: { name: string; data?: Buffer | string; linkname?: string }[]): Promise<Buffer> {
  return buildTar(members.map((m): LayerEntry => (m.linkname !== undefined
    ? { path: m.name, type: 'symlink', linkname: m.linkname }
    : { path: m.name, type: 'file', mode: 0o644, content: m.data ?? Buffer.alloc(0) })));
}

/** Rewrite a tar: `edit` returns new bytes, null to drop the member, undefined to keep it. */
async function rewriteTar(bytes: Buffer, edit: (name: string, data: Buffer) => Buffer | null | undefined): Promise<Buffer> {
  const members = await readTar(bytes);
  const kept: { name: string; data?: Buffer; linkname?: string }[] = [];
  for (const m of members) {
    if (m.type === 'directory') continue;
    if (m.type === 'symlink') {
      kept.push({ name: m.name, linkname: m.linkname! });
      continue;
    }
    const edited = edit(m.name, m.data);
    if (edited === null) continue;
    kept.push({ name: m.name, data: edited ?? m.data });
  }
  return writeTar(kept);
}

const hexOf = (digest: string): string => digest.slice('sha256:'.length);
const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Nothing of a failed load is visible: no image record, no spool directory left. */
function expectNothingLoaded(t: { same(a: unknown, b: unknown, m: string): void }, service: ImageService): void {
  t.same(service.list(), [], 'no image record');
  const root = path.resolve(path.dirname(service.content.pathOf(`sha256:${'0'.repeat(64)}`)), '..', '..', '..');
  const spool = path.join(root, 'tmp');
  t.same(fs.existsSync(spool) ? fs.readdirSync(spool) : [], [], 'spool directory removed');
}

/** The base layer has busybox; an app layer on top has app/hello.txt. */
function checkUnpacked(t: { ok(v: unknown, m: string): void; equal(a: unknown, b: unknown, m: string): void }, service: ImageService, image: ImageRecord): void {
  const base = service.snapshots.dirOf(image.layers[0]!.chainId);
  t.ok(fs.readFileSync(path.join(base, 'bin/busybox')).equals(fs.readFileSync('/bin/busybox')), 'bin/busybox unpacked');
  t.equal(fs.readlinkSync(path.join(base, 'bin/sh')), 'busybox', 'bin/sh symlink unpacked');
  if (image.layers.length > 1) {
    const top = service.snapshots.dirOf(image.layers[1]!.chainId);
    t.equal(fs.readFileSync(path.join(top, 'app/hello.txt'), 'utf8'), 'hello from the app layer\n', 'app/hello.txt unpacked');
  }
}

async function loadError(service: ImageService, bytes: Buffer): Promise<Error> {
  const err = await service.load(Readable.from([bytes])).then(() => undefined, (e: unknown) => e);
  if (!(err instanceof Error)) throw new Error('load succeeded, expected a failure');
  return err;
}

interface Fixture {
  host: string;
  base: BuiltImage;
  app: BuiltImage;
  service: ImageService;
  names: [string, string];
}

async function twoImages(t: Teardown): Promise<Fixture> {
  const registry = await startRegistry(t);
  const base = await buildImage({ layers: [busyboxLayer()] });
  const app = await buildImage({ layers: [busyboxLayer(), appLayer], config: { config: { Cmd: ['/bin/cat', '/app/hello.txt'] } } });
  await pushImage(registry.host, 'base/img:1', base);
  await pushImage(registry.host, 'app/img:2', app);
  const service = await freshService(t);
  const names: [string, string] = [`${registry.host}/base/img:1`, `${registry.host}/app/img:2`];
  for (const n of names) await service.pull(n);
  return { host: registry.host, base, app, service, names };
}

t.test('save writes an OCI layout that is also docker save format; load restores the images', async (t) => {
  const { base, app, service, names } = await twoImages(t);
  t.equal(base.layers[0]!.descriptor.digest, app.layers[0]!.descriptor.digest, 'the images share their base layer');
  const dir = tempDir(t, 'berth-save-');
  const file = path.join(dir, 'images.tar');
  await saveToFile(service, names, file);

  const members = await readTar(fs.readFileSync(file));
  const files = members.filter((m) => m.type === 'file').map((m) => m.name);
  t.equal(files.filter((n) => n === `blobs/sha256/${hexOf(base.layers[0]!.descriptor.digest)}`).length, 1, 'shared layer blob written once');
  t.equal(new Set(files).size, files.length, 'no member twice');
  for (const n of ['oci-layout', 'index.json', 'manifest.json', 'repositories']) t.ok(files.includes(n), `has ${n}`);
  const expectedBlobs = new Set([base, app].flatMap((i) => [i.manifest.descriptor.digest, i.config.descriptor.digest, ...i.layers.map((l) => l.descriptor.digest)]));
  t.equal(files.filter((n) => n.startsWith('blobs/sha256/')).length, expectedBlobs.size, 'every blob once');
  for (const m of members.filter((x) => x.name.startsWith('blobs/sha256/') && x.type === 'file')) {
    t.equal(sha(m.data), `sha256:${path.basename(m.name)}`, `${m.name} holds what its name says`);
  }

  const index = JSON.parse(members.find((m) => m.name === 'index.json')!.data.toString()) as { manifests: { digest: string; annotations: Record<string, string> }[] };
  t.same(index.manifests.map((m) => [m.digest, m.annotations['org.opencontainers.image.ref.name'], m.annotations['io.containerd.image.name']]), [
    [base.manifest.descriptor.digest, '1', names[0]],
    [app.manifest.descriptor.digest, '2', names[1]],
  ], 'index.json names each manifest');
  const dockerManifest = JSON.parse(members.find((m) => m.name === 'manifest.json')!.data.toString()) as { Config: string; RepoTags: string[]; Layers: string[] }[];
  t.same(dockerManifest[1], {
    Config: `blobs/sha256/${hexOf(app.config.descriptor.digest)}`,
    RepoTags: [names[1]],
    Layers: app.layers.map((l) => `blobs/sha256/${hexOf(l.descriptor.digest)}`),
  }, 'manifest.json in docker 25 form');

  // Third-party readers: skopeo reads the tar itself, umoci the unpacked layout.
  const inspected = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${file}:2`], { encoding: 'utf8' })) as { Digest: string; Layers: string[] };
  t.equal(inspected.Digest, app.manifest.descriptor.digest, 'skopeo reads the OCI archive');
  t.same(inspected.Layers, app.layers.map((l) => l.descriptor.digest));
  const layout = path.join(dir, 'layout');
  fs.mkdirSync(layout);
  execFileSync('tar', ['-xf', file, '-C', layout]);
  const listed = execFileSync('umoci', ['ls', '--layout', layout], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  t.same(listed, ['1', '2'], 'umoci lists both tags');

  const other = await freshService(t);
  const loaded = await other.load(fs.createReadStream(file));
  t.same(loaded, names, 'load returns the names');
  for (const [i, built] of [base, app].entries()) {
    const image = other.resolve(names[i]!);
    t.equal(image.id, built.config.descriptor.digest, `${names[i]} has the same image ID`);
    t.equal(image.manifest.digest, built.manifest.descriptor.digest, `${names[i]} has the same manifest`);
    checkUnpacked(t, other, image);
  }
  t.equal((await other.snapshots.list()).length, 2, 'the base layer is unpacked once');
  t.same(await other.load(fs.createReadStream(file)), names, 'loading again is harmless');
  t.equal(other.list().length, 2);
});

t.test('save by ID writes an untagged image; load reports its ID', async (t) => {
  const { app, service } = await twoImages(t);
  const file = path.join(tempDir(t, 'berth-save-'), 'byid.tar');
  await saveToFile(service, [app.config.descriptor.digest.slice(7, 19)], file);
  const other = await freshService(t);
  t.same(await other.load(fs.createReadStream(file)), [app.config.descriptor.digest]);
  t.same(other.resolve(app.config.descriptor.digest).repoTags, []);
});

t.test('load reads archives skopeo writes: oci-archive and docker-archive', async (t) => {
  const registry = await startRegistry(t);
  const app = await buildImage({ layers: [busyboxLayer(), appLayer] });
  await pushImage(registry.host, 'x:tag', app);
  const dir = tempDir(t, 'berth-skopeo-');
  for (const transport of ['oci-archive', 'docker-archive']) {
    const file = path.join(dir, `${transport}.tar`);
    execFileSync('skopeo', ['--insecure-policy', 'copy', '--src-tls-verify=false', `docker://${registry.host}/x:tag`, `${transport}:${file}:x:tag`], { stdio: 'pipe' });
    const service = await freshService(t);
    t.same(await service.load(fs.createReadStream(file)), ['x:tag'], `${transport}: named from the archive`);
    const image = service.resolve('x:tag');
    t.equal(image.id, app.config.descriptor.digest, `${transport}: same image ID`);
    if (transport === 'oci-archive') t.equal(image.manifest.digest, app.manifest.descriptor.digest, 'oci-archive: same manifest');
    else t.same(image.layers.map((l) => l.descriptor.digest), app.layers.map((l) => l.diffId), 'docker-archive: uncompressed layers, digests are diff IDs');
    checkUnpacked(t, service, image);
  }
});

t.test("load reads docker's old format: <id>/layer.tar and <hex>.json, compressed or not", async (t) => {
  const app = await buildImage({ layers: [busyboxLayer(), appLayer] });
  const configName = `${hexOf(app.config.descriptor.digest)}.json`;
  const bytes = await writeTar([
    { name: 'aaaa/VERSION', data: '1.0' },
    // skopeo and Docker 25 write <id>/layer.tar as a symlink to the real file.
    { name: `${hexOf(app.layers[0]!.diffId)}.tar`, data: app.layers[0]!.tar },
    { name: 'aaaa/layer.tar', linkname: `../${hexOf(app.layers[0]!.diffId)}.tar` },
    // docker never gzips here, but other tools do: told from the first bytes.
    { name: './bbbb/layer.tar', data: app.layers[1]!.bytes },
    { name: configName, data: app.config.bytes },
    { name: 'repositories', data: JSON.stringify({ 'old/img': { '1': 'bbbb' } }) },
    { name: 'manifest.json', data: JSON.stringify([{ Config: configName, RepoTags: ['old/img:1'], Layers: ['aaaa/layer.tar', 'bbbb/layer.tar'] }]) },
  ]);
  const service = await freshService(t);
  t.same(await service.load(Readable.from([bytes])), ['old/img:1']);
  const image = service.resolve('old/img:1');
  t.equal(image.id, app.config.descriptor.digest);
  t.same(image.layers.map((l) => l.descriptor.mediaType), ['application/vnd.oci.image.layer.v1.tar', 'application/vnd.oci.image.layer.v1.tar+gzip']);
  checkUnpacked(t, service, image);
  // The written manifest is a valid document naming blobs that are all stored.
  const manifest = JSON.parse((await service.content.read(image.manifest.digest)).toString()) as { layers: { digest: `sha256:${string}` }[] };
  for (const l of manifest.layers) t.ok((await service.content.size(l.digest)) !== undefined, `${l.digest} stored`);
});

t.test('bad archives fail with the member named and leave no image', async (t) => {
  const { base, app, service, names } = await twoImages(t);
  const file = path.join(tempDir(t, 'berth-bad-'), 'good.tar');
  await saveToFile(service, names, file);
  const good = fs.readFileSync(file);
  const topLayer = `blobs/sha256/${hexOf(app.layers[1]!.descriptor.digest)}`;

  await t.test('index.json entries without names take them from manifest.json', async (t) => {
    const other = await freshService(t);
    const unnamed = await rewriteTar(good, (name, data) => {
      if (name !== 'index.json') return undefined;
      const index = JSON.parse(data.toString()) as { manifests: { annotations?: unknown }[] };
      for (const m of index.manifests) delete m.annotations;
      return Buffer.from(JSON.stringify(index));
    });
    t.same(await other.load(Readable.from([unnamed])), names);
  });

  await t.test('save fails naming the image and the blob it cannot find', async (t) => {
    const broken = await freshService(t);
    await broken.pull(names[1]);
    await broken.content.delete(app.layers[1]!.descriptor.digest);
    const out = fs.createWriteStream(path.join(tempDir(t, 'berth-bad-save-'), 'x.tar'));
    const err = await broken.save([names[1]], out).then(() => undefined, (e: unknown) => e);
    t.ok(isBerthError(err, 'not-found'));
    t.match((err as Error).message, `image ${names[1]}: layer ${app.layers[1]!.descriptor.digest} is not in the content store`);
    t.ok(out.destroyed, 'the output was abandoned');
  });

  await t.test('a missing layer blob (the other image is fine: still nothing is loaded)', async (t) => {
    const other = await freshService(t);
    const err = await loadError(other, await rewriteTar(good, (name) => (name === topLayer ? null : undefined)));
    t.ok(isBerthError(err, 'invalid-argument'));
    t.match(err.message, `archive member ${topLayer} is missing (layer 1 of manifest ${app.manifest.descriptor.digest})`);
    expectNothingLoaded(t, other);
  });

  await t.test('a corrupted layer blob', async (t) => {
    const other = await freshService(t);
    const err = await loadError(other, await rewriteTar(good, (name, data) => {
      if (name !== topLayer) return undefined;
      const bad = Buffer.from(data);
      bad[bad.length - 20] ^= 0xff;
      return bad;
    }));
    t.ok(isBerthError(err, 'data-loss'));
    t.match(err.message, new RegExp(`^archive member ${topLayer}: .*digest mismatch`));
    expectNothingLoaded(t, other);
    t.equal(await other.content.size(app.layers[1]!.descriptor.digest), undefined, 'the bad blob is not in the content store');
  });

  await t.test('a manifest that is not a valid manifest', async (t) => {
    const other = await freshService(t);
    const bogus = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: base.config.descriptor, layers: 'none' }));
    const bogusName = `blobs/sha256/${hexOf(sha(bogus))}`;
    const edited = await rewriteTar(good, (name, data) => {
      if (name !== 'index.json') return undefined;
      const index = JSON.parse(data.toString()) as { manifests: { digest: string; size: number }[] };
      index.manifests[0] = { ...index.manifests[0]!, digest: sha(bogus), size: bogus.length };
      return Buffer.from(JSON.stringify(index));
    });
    const members = (await readTar(edited)).map((m) => ({ name: m.name, data: m.data }));
    const err = await loadError(other, await writeTar([...members, { name: bogusName, data: bogus }]));
    t.ok(isBerthError(err, 'invalid-argument'));
    t.match(err.message, new RegExp(`^archive member ${bogusName}: malformed manifest: /layers`));
    expectNothingLoaded(t, other);
  });

  await t.test('neither index.json nor manifest.json', async (t) => {
    const other = await freshService(t);
    const err = await loadError(other, await rewriteTar(good, (name) => (name === 'index.json' || name === 'manifest.json' ? null : undefined)));
    t.match(err.message, /neither index\.json .* nor manifest\.json/);
    expectNothingLoaded(t, other);
  });

  await t.test('docker format naming a layer the archive lacks', async (t) => {
    const other = await freshService(t);
    const bytes = await writeTar([
      { name: 'c.json', data: base.config.bytes },
      { name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', RepoTags: ['lost:1'], Layers: ['gone/layer.tar'] }]) },
    ]);
    const err = await loadError(other, bytes);
    t.match(err.message, 'archive member gone/layer.tar is missing (layer 0 of archive member manifest.json [0])');
    expectNothingLoaded(t, other);
  });

  await t.test('not a tar', async (t) => {
    const other = await freshService(t);
    const err = await loadError(other, Buffer.from('this is not a tar archive at all, just some text that goes on for a while'.repeat(10)));
    t.ok(isBerthError(err, 'invalid-argument'), err.message);
    expectNothingLoaded(t, other);
  });

});
