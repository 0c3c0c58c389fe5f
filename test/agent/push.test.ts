// Pushes to real docker-registries: blobs a registry has are skipped, blobs in another repository
// of the same registry are mounted, the rest uploaded (monolithic and chunked), and the manifest
// goes up byte for byte so the image comes back identical.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { isBerthError } from '../../proto/errors';
import type { ImageService } from '../../agent/images/service';
import type { ProgressEvent } from '../../agent/images/types';
import { buildImage, buildIndex, busyboxLayer, pushImage, pushIndex, type LayerEntry } from '../fixtures/images';
import { startFaultyServer, startRegistry, type RecordedRequest, type Teardown } from '../fixtures/registry';
import { openTestImageService } from '../fixtures/service';

const MiB = 1024 * 1024;
const big = randomBytes(3 * MiB + 12345);
const bigLayer: LayerEntry[] = [
  { path: 'data', type: 'dir' },
  { path: 'data/big.bin', type: 'file', content: big },
];

const layerEvents = (events: ProgressEvent[], status: string): string[] =>
  events.filter((e) => e.kind === 'layer' && e.status === status).map((e) => (e as { digest: string }).digest);

const blobUploads = (requests: RecordedRequest[]): RecordedRequest[] =>
  requests.filter((r) => (r.method === 'PUT' || r.method === 'PATCH') && r.url.includes('/blobs/uploads/'));

/** A service in a directory of its own (a test may need several; t.testdir() gives one). */
async function freshService(t: Teardown): Promise<ImageService> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-push-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  return openTestImageService({ teardown: (fn) => t.teardown(fn), testdir: () => root }, { root });
}

t.test('push to another repository of the same registry mounts every blob', async (t) => {
  const upstream = await startRegistry(t);
  const proxy = await startFaultyServer(t, (_req, _res, ctx) => ctx.proxy(), { upstream: upstream.host });
  const image = await buildImage({ layers: [busyboxLayer(), bigLayer] });
  await pushImage(upstream.host, 'src/app:v1', image);
  const service = await freshService(t);
  await service.pull(`${proxy.host}/src/app:v1`);
  await service.tag(`${proxy.host}/src/app:v1`, `${proxy.host}/dst/app:v2`);

  const before = proxy.requests.length;
  const events: ProgressEvent[] = [];
  const result = await service.push(`${proxy.host}/dst/app:v2`, { onProgress: (e) => events.push(e) });
  const requests = proxy.requests.slice(before);

  t.equal(result.digest, image.manifest.descriptor.digest, 'pushed manifest keeps its digest');
  t.same(layerEvents(events, 'mounted').sort(), image.layers.map((l) => l.descriptor.digest).sort(), 'both layers mounted');
  const mounts = requests.filter((r) => r.method === 'POST' && r.url.includes('mount='));
  t.equal(mounts.length, 3, 'two layers and the config were mounted');
  t.ok(mounts.every((r) => r.url.includes('from=src%2Fapp')), 'mounted from the repository the image came from');
  t.same(blobUploads(requests), [], 'no blob bytes were uploaded');
  t.match(events.find((e) => e.kind === 'done'), { kind: 'done', digest: image.manifest.descriptor.digest, status: /^v2: digest: sha256:/ });

  const res = await fetch(`${upstream.base}/v2/dst/app/manifests/v2`, { headers: { accept: image.manifest.descriptor.mediaType } });
  t.equal(res.status, 200);
  t.same(Buffer.from(await res.arrayBuffer()), image.manifest.bytes, 'the registry holds the exact manifest bytes');
  t.ok(service.resolve(`${proxy.host}/dst/app:v2`).repoDigests.includes(`${proxy.host}/dst/app@${result.digest}`), 'new repo digest recorded');
});

t.test('push to a second registry uploads monolithic and chunked, pulls back identical, and a second push moves nothing', async (t) => {
  const source = await startRegistry(t);
  const target = await startRegistry(t);
  const proxy = await startFaultyServer(t, (_req, _res, ctx) => ctx.proxy(), { upstream: target.host });
  const image = await buildImage({ layers: [busyboxLayer(), bigLayer] });
  await pushImage(source.host, 'src/app:v1', image);
  const service = await freshService(t);
  const pulled = await service.pull(`${source.host}/src/app:v1`);
  const name = `${proxy.host}/other/app:v3`;
  await service.tag(`${source.host}/src/app:v1`, name);

  const events: ProgressEvent[] = [];
  const result = await service.push(name, { onProgress: (e) => events.push(e), chunkSize: MiB });
  t.equal(result.digest, image.manifest.descriptor.digest);
  t.same(layerEvents(events, 'mounted'), [], 'nothing to mount from in another registry');
  t.same(layerEvents(events, 'complete').sort(), image.layers.map((l) => l.descriptor.digest).sort(), 'both layers uploaded');
  const bigDigest = image.layers[1]!.descriptor.digest;
  const progress = events.filter((e) => e.kind === 'layer' && e.status === 'uploading' && e.digest === bigDigest);
  t.ok(progress.length >= 3, 'the big layer reported progress per chunk');
  const sizes = [...image.layers.map((l) => l.descriptor.size), image.config.descriptor.size];
  const patches = proxy.requests.filter((r) => r.method === 'PATCH');
  const chunked = sizes.filter((s) => s > MiB);
  t.ok(chunked.length >= 1 && chunked.length < sizes.length, 'the image has blobs above and below the chunk size');
  t.equal(patches.length, chunked.reduce((n, s) => n + Math.ceil(s / MiB), 0), 'blobs above 1 MiB went up in 1 MiB PATCH chunks');
  const puts = proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/blobs/uploads/') && r.url.includes('digest='));
  t.equal(puts.length, sizes.length, 'every blob upload was closed with its digest');
  const monolithic = puts.filter((r) => Number(r.headers['content-length'] ?? 0) > 0);
  t.equal(monolithic.length, sizes.length - chunked.length, 'blobs below 1 MiB went up in one PUT');

  // A fresh agent pulls it from the second registry: the same image, the same files.
  const other = await freshService(t);
  const back = await other.pull(`${target.host}/other/app:v3`);
  t.equal(back.id, pulled.id, 'same image ID');
  t.equal(back.manifest.digest, pulled.manifest.digest, 'same manifest digest');
  const top = other.snapshots.dirOf(back.layers[1]!.chainId);
  t.ok(fs.readFileSync(path.join(top, 'data/big.bin')).equals(big), 'big file intact');
  const base = other.snapshots.dirOf(back.layers[0]!.chainId);
  t.ok(fs.readFileSync(path.join(base, 'bin/busybox')).equals(fs.readFileSync('/bin/busybox')), 'busybox intact');

  const before = proxy.requests.length;
  const again: ProgressEvent[] = [];
  await service.push(name, { onProgress: (e) => again.push(e) });
  t.same(layerEvents(again, 'exists').sort(), image.layers.map((l) => l.descriptor.digest).sort(), 'second push: every layer exists');
  t.same(blobUploads(proxy.requests.slice(before)), [], 'second push uploaded nothing');
});

t.test('an image pulled through an index pushes its platform manifest', async (t) => {
  const registry = await startRegistry(t);
  const amd = await buildImage({ layers: [busyboxLayer()] });
  const arm = await buildImage({ layers: [[{ path: 'arm', type: 'file', content: 'arm' }]], platform: { os: 'linux', architecture: 'arm64' } });
  await pushIndex(registry.host, 'multi/app:1', buildIndex([amd, arm]));
  const service = await freshService(t);
  await service.pull(`${registry.host}/multi/app:1`);
  await service.tag(`${registry.host}/multi/app:1`, `${registry.host}/single/app:1`);
  const result = await service.push(`${registry.host}/single/app:1`);
  t.equal(result.digest, amd.manifest.descriptor.digest, 'the linux/amd64 manifest, not the index');
});

t.test('a push that cannot find a blob names the image and the layer, and records nothing', async (t) => {
  const source = await startRegistry(t);
  const target = await startRegistry(t);
  const image = await buildImage({ layers: [busyboxLayer(), bigLayer] });
  await pushImage(source.host, 'src/app:v1', image);
  const service = await freshService(t);
  await service.pull(`${source.host}/src/app:v1`);
  const name = `${target.host}/broken/app:x`;
  await service.tag(`${source.host}/src/app:v1`, name);
  const missing = image.layers[1]!.descriptor.digest;
  await service.content.delete(missing);

  const err = await service.push(name).then(() => undefined, (e: unknown) => e);
  t.ok(isBerthError(err, 'not-found'), 'not-found');
  t.match((err as Error).message, `image ${name}: layer ${missing}: blob ${missing} is not in the content store`);
  t.notOk(service.resolve(name).repoDigests.some((d) => d.startsWith(`${target.host}/broken/app@`)), 'no repo digest recorded');
  const res = await fetch(`${target.base}/v2/broken/app/manifests/x`, { method: 'HEAD' });
  t.equal(res.status, 404, 'no manifest pushed');
});
