// The registry client against a real docker-registry (plain, htpasswd, token auth) and against
// scripted faulty servers. Traffic goes only to 127.0.0.1.

import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { sha256 } from '../../agent/oci/digest';
import { MANIFEST_OR_INDEX_TYPES, MANIFEST_TYPES, MediaType } from '../../agent/oci/media-types';
import { parseReference } from '../../agent/oci/reference';
import { createRegistryClient, HostResolver, normalizeRegistryKey, parseChallenges, parseRegistriesConfig } from '../../agent/images/registry';
import type { RegistryOptions } from '../../agent/images/registry/types';
import type { Descriptor } from '../../agent/oci/types';
import { buildImage, buildIndex, busyboxLayer, pushImage, pushIndex, type BuiltImage } from '../fixtures/images';
import { startFaultyServer, startRegistry } from '../fixtures/registry';

const uniq = (): string => randomBytes(4).toString('hex');

// Never read root's own docker config.
process.env.DOCKER_CONFIG = path.join(t.testdirName, 'docker-config-unused');

function client(t: tap.Test, opts: RegistryOptions = {}) {
  const c = createRegistryClient({ backoffMs: 1, maxAttempts: 3, ...opts });
  t.teardown(() => c.close());
  return c;
}

async function collect(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

function writeYaml(t: tap.Test, text: string): string {
  const dir = t.testdir({ 'registries.yaml': text });
  return path.join(dir, 'registries.yaml');
}

const rawLayer = (bytes: number): BuiltImage['layers'][number] extends infer L ? Promise<L> : never =>
  buildImage({ layers: [[{ path: 'data.bin', type: 'file', content: randomBytes(bytes) }]], compression: 'none' }).then((i) => i.layers[0]!);

t.test('pull from a real registry', async (t) => {
  const reg = await startRegistry(t);
  const c = client(t);
  const oci = await buildImage({ layers: [busyboxLayer(), [{ path: 'hello.txt', type: 'file', content: 'hi' }]] });
  const docker = await buildImage({ layers: [busyboxLayer()], format: 'docker' });
  const arm = await buildImage({ layers: [[{ path: 'arm', type: 'file', content: 'arm64' }]], platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } });
  const index = buildIndex([oci, arm]);
  const repo = `pull-${uniq()}`;
  await pushImage(reg.host, `${repo}:oci`, oci);
  await pushImage(reg.host, `${repo}:docker`, docker);
  await pushIndex(reg.host, `${repo}:multi`, index);

  t.test('manifest by tag (OCI)', async (t) => {
    const m = await c.getManifest(parseReference(`${reg.host}/${repo}:oci`), MANIFEST_TYPES);
    t.same(m.descriptor, oci.manifest.descriptor);
    t.ok(m.bytes.equals(oci.manifest.bytes));
  });
  t.test('manifest by digest (Docker schema2)', async (t) => {
    const m = await c.getManifest(parseReference(`${reg.host}/${repo}@${docker.manifest.descriptor.digest}`), MANIFEST_TYPES);
    t.equal(m.descriptor.mediaType, MediaType.dockerManifest);
    t.equal(m.descriptor.digest, docker.manifest.descriptor.digest);
  });
  t.test('index, and an index where a manifest was asked for', async (t) => {
    const ref = parseReference(`${reg.host}/${repo}:multi`);
    const m = await c.getManifest(ref, MANIFEST_OR_INDEX_TYPES);
    t.equal(m.descriptor.mediaType, MediaType.ociIndex);
    t.ok(m.bytes.equals(index.index.bytes));
    // docker-registry itself answers 404 when the Accept header excludes indexes; a registry that
    // serves it anyway (under a manifest Content-Type, even) is caught by the document's own mediaType.
    const liar = await startFaultyServer(t, (_req, res) => void res.writeHead(200, { 'content-type': MediaType.ociManifest }).end(index.index.bytes));
    await t.rejects(c.getManifest(parseReference(`${liar.host}/x:multi`), MANIFEST_TYPES), {
      code: 'data-loss',
      message: `manifest ${liar.host}/x:multi from ${liar.host} is application/vnd.oci.image.index.v1+json, expected one of ${MANIFEST_TYPES.join(', ')}`,
    });
  });
  t.test('unknown tag and blob are not-found', async (t) => {
    await t.rejects(c.getManifest(parseReference(`${reg.host}/${repo}:nope`), MANIFEST_TYPES), {
      code: 'not-found', message: `manifest unknown: ${reg.host}/${repo}:nope not found`,
    });
    const desc: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: sha256('absent'), size: 6 };
    await t.rejects(collect(c.openBlob(parseReference(`${reg.host}/${repo}`), desc)), { code: 'not-found', message: /blob unknown/ });
  });
  t.test('blobs stream and verify', async (t) => {
    const ref = parseReference(`${reg.host}/${repo}:oci`);
    let progress = 0;
    const got = await collect(c.openBlob(ref, oci.layers[0]!.descriptor, { onProgress: (n) => (progress = n) }));
    t.ok(got.equals(oci.layers[0]!.bytes), 'layer bytes intact');
    t.equal(progress, oci.layers[0]!.descriptor.size);
    const cfg = await c.getBlob(ref, oci.config.descriptor, 1 << 20);
    t.same(JSON.parse(cfg.toString()), oci.config.json);
    await t.rejects(c.getBlob(ref, oci.config.descriptor, 10), { code: 'resource-exhausted' });
    // The registry has the blob, but we claim another digest for its bytes' size: data-loss.
    const lying: Descriptor = { ...oci.layers[1]!.descriptor, size: oci.layers[1]!.descriptor.size + 1 };
    await t.rejects(collect(c.openBlob(ref, lying)), { code: 'data-loss', message: /got \d+ bytes, expected \d+/ });
  });
});

t.test('Basic auth (htpasswd)', async (t) => {
  const creds = { username: `u${uniq()}`, password: 'secret-pass' };
  const reg = await startRegistry(t, { htpasswd: creds });
  const img = await buildImage({ layers: [[{ path: 'a', type: 'file', content: 'a' }]] });
  await pushImage(reg.host, 'basic/app:1', img, { auth: creds });
  const ref = parseReference(`${reg.host}/basic/app:1`);

  t.test('no credentials', async (t) => {
    await t.rejects(client(t).getManifest(ref, MANIFEST_TYPES), {
      code: 'unauthenticated', message: new RegExp(`^${reg.host}/basic/app:1: registry ${reg.host} answered 401 .*no credentials`),
    });
  });
  t.test('wrong credentials', async (t) => {
    const file = writeYaml(t, `configs:\n  "${reg.host}":\n    auth: { username: ${creds.username}, password: wrong }\n`);
    const err = await client(t, { registriesConfig: file }).getManifest(ref, MANIFEST_TYPES).catch((e: Error) => e);
    t.match(err, { code: 'unauthenticated', message: `the credentials for ${reg.host} were rejected` });
    // It ends up in pod status and events: the registry is named, the user is not.
    t.notMatch((err as Error).message, creds.username);
  });
  t.test('right credentials from registries.yaml', async (t) => {
    const file = writeYaml(t, `configs:\n  "${reg.host}":\n    auth: { username: ${creds.username}, password: ${creds.password} }\n`);
    const m = await client(t, { registriesConfig: file }).getManifest(ref, MANIFEST_TYPES);
    t.equal(m.descriptor.digest, img.manifest.descriptor.digest);
  });
  t.test('credentials from a docker config.json', async (t) => {
    const auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
    const dir = t.testdir({
      'a.json': JSON.stringify({ auths: { 'other.example:5000': { auth: 'eDp5' } } }),
      'b.json': JSON.stringify({ auths: { [`http://${reg.host}/v2/`]: { auth } } }),
    });
    const c = client(t, { authFiles: [path.join(dir, 'a.json'), path.join(dir, 'missing.json'), path.join(dir, 'b.json')] });
    const m = await c.getManifest(ref, MANIFEST_TYPES);
    t.equal(m.descriptor.digest, img.manifest.descriptor.digest);
    const blob = await c.getBlob(ref, img.config.descriptor, 1 << 20);
    t.ok(blob.equals(img.config.bytes));
  });
  t.test('login', async (t) => {
    const c = client(t);
    await c.login(reg.host, creds.username, creds.password);
    await t.rejects(c.login(reg.host, creds.username, 'nope'), { code: 'unauthenticated' });
  });
});

t.test('Bearer token auth', async (t) => {
  const creds = { username: `tok${uniq()}`, password: 'pw' };
  const reg = await startRegistry(t, { token: creds });
  const img = await buildImage({ layers: [[{ path: 'a', type: 'file', content: 'token' }]] });
  await pushImage(reg.host, 'tok/app:1', img, { auth: creds });
  const ref = parseReference(`${reg.host}/tok/app:1`);
  const ts = reg.tokenServer!;

  t.test('anonymous is refused', async (t) => {
    await t.rejects(client(t).getManifest(ref, MANIFEST_TYPES), { code: 'unauthenticated', message: /answered 401/ });
  });
  t.test('wrong password is refused by the token server', async (t) => {
    const dir = t.testdir({ 'c.json': JSON.stringify({ auths: { [reg.host]: { username: creds.username, password: 'bad' } } }) });
    const err = await client(t, { authFiles: [path.join(dir, 'c.json')] }).getManifest(ref, MANIFEST_TYPES).catch((e: Error) => e);
    t.match(err, { code: 'unauthenticated', message: new RegExp(`token server .* refused the credentials for ${reg.host}`) });
    t.notMatch((err as Error).message, creds.username);
  });
  t.test('with credentials, a token for the right scope', async (t) => {
    const dir = t.testdir({ 'c.json': JSON.stringify({ auths: { [reg.host]: { username: creds.username, password: creds.password } } }) });
    const c = client(t, { authFiles: [path.join(dir, 'c.json')] });
    const before = ts.requests.length;
    const m = await c.getManifest(ref, MANIFEST_TYPES);
    t.equal(m.descriptor.digest, img.manifest.descriptor.digest);
    const got = await c.getBlob(ref, img.config.descriptor, 1 << 20);
    t.ok(got.equals(img.config.bytes));
    const mine = ts.requests.slice(before);
    t.same(mine, [{ username: creds.username, service: ts.service, scopes: ['repository:tok/app:pull'] }], 'one token, cached for the blob');
    await c.login(reg.host, creds.username, creds.password);
    await t.rejects(c.login(reg.host, creds.username, 'wrong'), { code: 'unauthenticated' });
  });
});

t.test('mirrors from registries.yaml', async (t) => {
  const origin = await startRegistry(t);
  const upstream = await startRegistry(t);
  const img = await buildImage({ layers: [[{ path: 'm', type: 'file', content: 'mirrored' }]] });
  await pushImage(upstream.host, 'mir/app:1', img);
  await pushImage(origin.host, 'mir/only-origin:1', img);
  const mirror = await startFaultyServer(t, (_req, _res, ctx) => ctx.proxy(), { upstream: upstream.host });
  const file = writeYaml(t, `mirrors:\n  "${origin.host}":\n    endpoint:\n      - "http://${mirror.host}"\n`);
  const c = client(t, { registriesConfig: file });

  const m = await c.getManifest(parseReference(`${origin.host}/mir/app:1`), MANIFEST_TYPES);
  t.equal(m.descriptor.digest, img.manifest.descriptor.digest, 'served by the mirror (origin does not have it)');
  t.ok(mirror.requests.some((r) => r.method === 'GET' && r.url === '/v2/mir/app/manifests/1'), 'request went to the mirror');
  const blob = await collect(c.openBlob(parseReference(`${origin.host}/mir/app:1`), img.layers[0]!.descriptor));
  t.ok(blob.equals(img.layers[0]!.bytes));

  // Not on the mirror: falls back to the registry itself.
  const f = await c.getManifest(parseReference(`${origin.host}/mir/only-origin:1`), MANIFEST_TYPES);
  t.equal(f.descriptor.digest, img.manifest.descriptor.digest);
  t.ok(mirror.requests.some((r) => r.url === '/v2/mir/only-origin/manifests/1'), 'mirror was tried first');
});

t.test('endpoint selection', async (t) => {
  const h = new HostResolver(parseRegistriesConfig(''), ['insecure.example:5000']);
  t.equal(h.origin('registry.example.com:5000').base, 'https://registry.example.com:5000', 'plain HTTP refused for a remote host');
  t.equal(h.origin('insecure.example:5000').base, 'http://insecure.example:5000');
  t.equal(h.origin('127.0.0.2:5000').base, 'http://127.0.0.2:5000');
  t.equal(h.origin('localhost:5000').base, 'http://localhost:5000');
  t.equal(h.origin('[::1]:5000').base, 'http://[::1]:5000');
  t.equal(h.origin('docker.io').base, 'https://registry-1.docker.io');
  t.notOk(h.allowsPlainHttp('10.0.0.1:5000'));
  const cfg = parseRegistriesConfig([
    'mirrors:',
    '  docker.io:',
    '    endpoint: ["http://127.0.0.1:5000", "https://mirror.example/prefix"]',
    'configs:',
    '  mirror.example:',
    '    auth: { username: u, password: p }',
    '    tls: { insecure_skip_verify: true }',
  ].join('\n'));
  const eps = new HostResolver(cfg).pullEndpoints('docker.io');
  t.same(eps.map((e) => [e.base, e.mirror]), [['http://127.0.0.1:5000', true], ['https://mirror.example/prefix', true], ['https://registry-1.docker.io', false]]);
  t.same(eps[1]!.auth, { username: 'u', password: 'p' });
  t.equal(eps[1]!.insecureSkipVerify, true);
  const bad = new HostResolver(parseRegistriesConfig('mirrors:\n  docker.io:\n    endpoint: ["http://10.1.2.3:5000"]\n'));
  t.throws(() => bad.pullEndpoints('docker.io'), { code: 'invalid-argument', message: /plain HTTP/ });
  t.equal(normalizeRegistryKey('https://index.docker.io/v1/'), 'docker.io');
  t.equal(normalizeRegistryKey('http://Host:5000/v2/'), 'host:5000');
  t.same(parseChallenges('Basic realm="r", Bearer realm="https://a/token",service="s",scope="repository:x:pull,push"'), [
    { scheme: 'basic', params: { realm: 'r' } },
    { scheme: 'bearer', params: { realm: 'https://a/token', service: 's', scope: 'repository:x:pull,push' } },
  ]);
});

t.test('faults', async (t) => {
  const blobBytes = randomBytes(64 * 1024);
  const blob: Descriptor = { mediaType: MediaType.ociLayer, digest: sha256(blobBytes), size: blobBytes.length };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: blob, layers: [] }));

  const statusServer = async (t: tap.Test, status: number, extra: Record<string, string> = {}) =>
    startFaultyServer(t, (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...extra });
      res.end(JSON.stringify({ errors: [{ code: status === 404 ? 'MANIFEST_UNKNOWN' : 'X', message: 'scripted' }] }));
    });

  t.test('401, 403, 404', async (t) => {
    const s401 = await statusServer(t, 401, { 'www-authenticate': 'Basic realm="x"' });
    await t.rejects(client(t).getManifest(parseReference(`${s401.host}/x:tag`), MANIFEST_TYPES), { code: 'unauthenticated', message: `${s401.host}/x:tag: registry ${s401.host} answered 401 Unauthorized: scripted (no credentials for ${s401.host}; log in first)` });
    const s403 = await statusServer(t, 403);
    await t.rejects(client(t).getManifest(parseReference(`${s403.host}/x:tag`), MANIFEST_TYPES), { code: 'permission-denied', message: /^127.0.0.1:\d+\/x:tag: registry 127.0.0.1:\d+ answered 403 Forbidden/ });
    const s404 = await statusServer(t, 404);
    await t.rejects(client(t).getManifest(parseReference(`${s404.host}/x:tag`), MANIFEST_TYPES), { code: 'not-found', message: `manifest unknown: ${s404.host}/x:tag not found` });
  });

  t.test('429 and 5xx are retried, then fail clearly', async (t) => {
    const s429 = await statusServer(t, 429, { 'retry-after': '0' });
    await t.rejects(client(t).getManifest(parseReference(`${s429.host}/x:tag`), MANIFEST_TYPES), {
      code: 'resource-exhausted', message: `registry ${s429.host} answered 429 Too Many Requests for GET /v2/x/manifests/tag after 3 attempts`,
    });
    t.equal(s429.requests.length, 3);
    const s503 = await statusServer(t, 503);
    await t.rejects(collect(client(t, { maxAttempts: 5 }).openBlob(parseReference(`${s503.host}/x`), blob)), {
      code: 'unavailable', message: `registry ${s503.host} answered 503 Service Unavailable for GET /v2/x/blobs/${blob.digest} after 5 attempts`,
    });
    t.equal(s503.requests.length, 5);
    // Succeeds when the registry recovers within the attempts.
    const flaky = await startFaultyServer(t, (_req, res, ctx) => {
      if (ctx.index < 2) return void res.writeHead(ctx.index === 0 ? 502 : 429, { 'retry-after': '0' }).end();
      res.writeHead(200, { 'content-type': MediaType.ociManifest }).end(manifest);
    });
    const m = await client(t).getManifest(parseReference(`${flaky.host}/x:tag`), MANIFEST_TYPES);
    t.ok(m.bytes.equals(manifest));
    // Connection refused: unavailable.
    const gone = await startFaultyServer(t, () => undefined);
    await gone.stop();
    await t.rejects(client(t).getManifest(parseReference(`${gone.host}/x:tag`), MANIFEST_TYPES), { code: 'unavailable', message: /could not be reached .* after 3 attempts/ });
  });

  t.test('manifests are verified, typed and capped', async (t) => {
    const s = await startFaultyServer(t, (req, res) => {
      if (req.url!.includes('big')) {
        res.writeHead(200, { 'content-type': MediaType.ociManifest, 'content-length': String(10 * 1024 * 1024) });
        return void res.end();
      }
      if (req.url!.includes('chunked')) {
        res.writeHead(200, { 'content-type': MediaType.ociManifest });
        res.write(Buffer.alloc(3000, 32));
        return void res.end(manifest);
      }
      // Docker-Content-Digest lies too: the client must not trust it.
      res.writeHead(200, { 'content-type': MediaType.ociManifest, 'docker-content-digest': sha256(Buffer.from('x')) });
      res.end(manifest);
    });
    const wanted = sha256(Buffer.from('x'));
    await t.rejects(client(t).getManifest(parseReference(`${s.host}/x@${wanted}`), MANIFEST_TYPES), {
      code: 'data-loss', message: `manifest ${s.host}/x@${wanted} from ${s.host}: digest mismatch: got ${sha256(manifest)}`,
    });
    await t.rejects(client(t).getManifest(parseReference(`${s.host}/x:big`), MANIFEST_TYPES), { code: 'resource-exhausted', message: /10485760 bytes, past the 4194304 byte limit/ });
    await t.rejects(client(t, { maxManifestBytes: 2048 }).getManifest(parseReference(`${s.host}/x:chunked`), MANIFEST_TYPES), { code: 'resource-exhausted' });
    const ok = await client(t).getManifest(parseReference(`${s.host}/x@${sha256(manifest)}`), MANIFEST_TYPES);
    t.equal(ok.descriptor.digest, sha256(manifest));
  });

  t.test('blobs with wrong, short and cut bodies', async (t) => {
    const wrong = await startFaultyServer(t, (_req, res) => {
      const b = Buffer.from(blobBytes);
      b[100] ^= 1;
      res.writeHead(200, { 'content-length': String(b.length) }).end(b);
    });
    await t.rejects(collect(client(t).openBlob(parseReference(`${wrong.host}/x`), blob)), { code: 'data-loss', message: `layer ${blob.digest}: digest mismatch: got ${sha256((() => { const b = Buffer.from(blobBytes); b[100] ^= 1; return b; })())}` });
    const short = await startFaultyServer(t, (_req, res) => void res.writeHead(200, { 'content-length': '1000' }).end(blobBytes.subarray(0, 1000)));
    await t.rejects(collect(client(t).openBlob(parseReference(`${short.host}/x`), blob)), { code: 'data-loss', message: `layer ${blob.digest}: got 1000 bytes, expected ${blob.size}` });
    const cut = await startFaultyServer(t, (_req, res) => {
      res.writeHead(200, { 'content-length': String(blob.size) });
      res.write(blobBytes.subarray(0, 1000));
      setTimeout(() => res.socket?.destroy(), 10);
    });
    let resumes = 0;
    await t.rejects(collect(client(t).openBlob(parseReference(`${cut.host}/x`), blob, { onResume: () => resumes++ })), {
      code: 'unavailable', message: /connection cut at 1000 of 65536 bytes .*could not resume after 3 attempts/,
    });
    t.ok(resumes >= 1, 'tried to resume');
    t.ok(cut.requests.slice(1).every((r) => r.headers.range === 'bytes=1000-'), 'resumed with Range');
  });

  t.test('a cut connection is resumed with Range (206 and 200 answers)', async (t) => {
    const reg = await startRegistry(t);
    const layer = await rawLayer(3 * 1024 * 1024);
    const img = await buildImage({ layers: [] });
    img.layers.push(layer);
    await pushImage(reg.host, 'resume/app:1', img);
    let cutOnce = true;
    const proxy = await startFaultyServer(t, (req, _res, ctx) => {
      if (req.url!.includes('/blobs/') && cutOnce) {
        cutOnce = false;
        return ctx.proxy({ cutAfter: 1024 * 1024 + 7 });
      }
      return ctx.proxy();
    }, { upstream: reg.host });
    const offsets: number[] = [];
    const got = await collect(client(t).openBlob(parseReference(`${proxy.host}/resume/app`), layer.descriptor, { onResume: (o) => offsets.push(o) }));
    t.ok(got.equals(layer.bytes), 'data intact');
    t.same(offsets, [1024 * 1024 + 7]);
    const ranged = proxy.requests.filter((r) => r.headers.range);
    t.same(ranged.map((r) => r.headers.range), [`bytes=${1024 * 1024 + 7}-`]);

    // A server that ignores Range and answers 200: the first N bytes are skipped.
    let first = true;
    const noRange = await startFaultyServer(t, (_req, res) => {
      res.writeHead(200, { 'content-length': String(blob.size) });
      if (first) {
        first = false;
        res.write(blobBytes.subarray(0, 5000));
        return void setTimeout(() => res.socket?.destroy(), 10);
      }
      res.end(blobBytes);
    });
    let resumed = -1;
    const again = await collect(client(t).openBlob(parseReference(`${noRange.host}/x`), blob, { onResume: (o) => (resumed = o) }));
    t.ok(again.equals(blobBytes));
    t.equal(resumed, 5000);
  });

  t.test('a redirect to another host carries no Authorization', async (t) => {
    const storage = await startFaultyServer(t, (_req, res) => void res.writeHead(200, { 'content-length': String(blob.size) }).end(blobBytes));
    const api = await startFaultyServer(t, (req, res) => {
      if (!req.headers.authorization) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="api"' }).end();
      res.writeHead(307, { location: `http://${storage.host}/store/blob?sig=1` }).end();
    });
    const file = writeYaml(t, `configs:\n  "${api.host}":\n    auth: { username: alice, password: pw }\n`);
    const got = await collect(client(t, { registriesConfig: file }).openBlob(parseReference(`${api.host}/x`), blob));
    t.ok(got.equals(blobBytes));
    t.ok(api.requests.some((r) => r.headers.authorization?.startsWith('Basic ')), 'the registry got credentials');
    t.equal(storage.requests.length, 1);
    t.equal(storage.requests[0]!.url, '/store/blob?sig=1');
    t.equal(storage.requests[0]!.headers.authorization, undefined, 'storage host got none');
  });
});

t.test('push', async (t) => {
  const reg = await startRegistry(t);
  const c = client(t);
  const repo = `push-${uniq()}`;
  const ref = parseReference(`${reg.host}/${repo}:v1`);
  const img = await buildImage({ layers: [busyboxLayer()] });
  const big = await rawLayer(300 * 1024);

  t.notOk(await c.hasBlob(ref, big.descriptor.digest));
  let sent = 0;
  await c.uploadBlob(ref, big.descriptor, () => Readable.from([big.bytes.subarray(0, 1000), big.bytes.subarray(1000)]), { chunkSize: 64 * 1024, onProgress: (n) => (sent = n) });
  t.equal(sent, big.descriptor.size, 'chunked upload reported all bytes');
  t.ok(await c.hasBlob(ref, big.descriptor.digest), 'chunked upload landed');
  for (const b of [...img.layers, img.config]) {
    await c.uploadBlob(ref, b.descriptor, () => Readable.from([b.bytes]));
    t.ok(await c.hasBlob(ref, b.descriptor.digest), 'monolithic upload landed');
  }
  await t.rejects(c.uploadBlob(ref, { ...big.descriptor, digest: sha256('nope') }, () => Readable.from([big.bytes]), { chunkSize: 64 * 1024 }), { code: 'data-loss' });

  const d = await c.putManifest(ref, img.manifest.descriptor.mediaType, img.manifest.bytes);
  t.equal(d, img.manifest.descriptor.digest);
  const back = await c.getManifest(ref, MANIFEST_TYPES);
  t.ok(back.bytes.equals(img.manifest.bytes), 'identical bytes');

  const other = parseReference(`${reg.host}/${repo}-copy:v1`);
  t.ok(await c.mountBlob(other, img.layers[0]!.descriptor.digest, repo), 'mounted across repositories');
  t.ok(await c.hasBlob(other, img.layers[0]!.descriptor.digest));
  t.notOk(await c.mountBlob(other, sha256('never uploaded'), repo), 'not mountable: upload session cancelled');
});

t.test('a 200 MB blob streams with bounded memory (backpressure)', async (t) => {
  const chunk = randomBytes(1024 * 1024);
  const count = 200;
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256');
  for (let i = 0; i < count; i++) h.update(chunk);
  const desc: Descriptor = { mediaType: MediaType.ociLayer, digest: `sha256:${h.digest('hex')}`, size: chunk.length * count };
  const server = await startFaultyServer(t, async (_req, res) => {
    res.writeHead(200, { 'content-length': String(desc.size) });
    for (let i = 0; i < count; i++) {
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  });
  let received = 0;
  const stream = client(t).openBlob(parseReference(`${server.host}/big`), desc, { onProgress: (n) => (received = n) });
  const rss0 = process.memoryUsage().rss;
  // A consumer that stops reading: the client must stop pulling from the socket.
  const first = await new Promise<Buffer>((resolve) => stream.once('data', (d: Buffer) => { stream.pause(); resolve(d); }));
  t.ok(first.length > 0);
  await new Promise((r) => setTimeout(r, 300));
  t.ok(received < 32 * 1024 * 1024, `paused consumer: only ${received} bytes pulled`);
  let total = first.length;
  let peak = 0;
  stream.resume();
  for await (const d of stream) {
    total += (d as Buffer).length;
    peak = Math.max(peak, process.memoryUsage().rss - rss0);
  }
  t.equal(total, desc.size);
  t.ok(peak < 100 * 1024 * 1024, `rss grew by at most ${Math.round(peak / 1048576)} MiB`);
});
