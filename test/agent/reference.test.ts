import t from 'tap';
import { isBerthError } from '../../proto/errors';
import { parseDigest, sha256, VerifyingStream } from '../../agent/oci/digest';
import { detectCompression, layerCompression, isForeignLayerType, MediaType } from '../../agent/oci/media-types';
import { familiarName, familiarString, formatReference, parseReference } from '../../agent/oci/reference';

const D = `sha256:${'a'.repeat(64)}`;

t.test('parseReference normalises like Docker', async (t) => {
  const cases: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['quay.io/org/app:v1', 'quay.io/org/app:v1', 'quay.io/org/app:v1'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['localhost:5000/a/b/c', 'localhost:5000/a/b/c:latest', 'localhost:5000/a/b/c:latest'],
    ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest', '127.0.0.1:5000/x:latest'],
    ['[::1]:5000/x:t', '[::1]:5000/x:t', '[::1]:5000/x:t'],
    ['My.Registry.io/x', 'My.Registry.io/x:latest', 'My.Registry.io/x:latest'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`, `busybox:1@${D}`],
    ['a_b/c__d/e-f.g--h:Tag_1.0-x', 'docker.io/a_b/c__d/e-f.g--h:Tag_1.0-x', 'a_b/c__d/e-f.g--h:Tag_1.0-x'],
  ];
  for (const [input, full, familiar] of cases) {
    const ref = parseReference(input);
    t.equal(formatReference(ref), full, input);
    t.equal(familiarString(ref), familiar, `${input} familiar`);
  }
  t.same(parseReference(`busybox@${D}`), { domain: 'docker.io', path: 'library/busybox', digest: D });
  t.same(parseReference('busybox'), { domain: 'docker.io', path: 'library/busybox', tag: 'latest' });
  t.equal(familiarName({ domain: 'docker.io', path: 'library/a/b' }), 'library/a/b');
});

t.test('parseReference refuses bad references with one clear line', async (t) => {
  const bad: [string, RegExp][] = [
    ['', /invalid reference "": empty/],
    ['Busybox', /must be lowercase/],
    ['docker.io/Library/busybox', /must be lowercase/],
    ['busybox:', /invalid tag ""/],
    ['busybox:-x', /invalid tag/],
    [`busybox:${'a'.repeat(129)}`, /invalid tag/],
    ['busybox@sha256:abc', /invalid digest/],
    [`busybox@sha512:${'a'.repeat(128)}`, /unsupported algorithm sha512/],
    [`busybox@sha256:${'A'.repeat(64)}`, /invalid digest/],
    ['a//b', /empty path component/],
    ['/a', /empty path component|missing/],
    ['host:5000/', /missing repository name/],
    ['a b', /whitespace/],
    ['x/-y', /invalid repository component "-y"/],
    ['bad_host.io:x/y', /invalid registry host/],
    [`x/${'a'.repeat(260)}`, /longer than 255/],
  ];
  for (const [input, re] of bad) {
    try {
      parseReference(input);
      t.fail(`accepted ${JSON.stringify(input)}`);
    } catch (err) {
      t.ok(isBerthError(err, 'invalid-argument'), `${JSON.stringify(input)} is invalid-argument`);
      t.match((err as Error).message, re, JSON.stringify(input));
      t.match((err as Error).message, /^invalid reference "/);
      t.notMatch((err as Error).message, /\n/);
    }
  }
});

t.test('digest helpers', async (t) => {
  t.equal(sha256(''), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  t.equal(parseDigest(D), D);
  t.throws(() => parseDigest('sha256:xyz'), { code: 'invalid-argument' });
  const data = Buffer.from('hello world');
  const good = new VerifyingStream({ digest: sha256(data), size: data.length });
  good.end(data);
  const out: Buffer[] = [];
  for await (const c of good) out.push(c as Buffer);
  t.equal(Buffer.concat(out).toString(), 'hello world');
  const bad = new VerifyingStream({ digest: sha256('other'), size: data.length }, 'layer');
  bad.end(data);
  await t.rejects(async () => { for await (const _ of bad) void _; }, { code: 'data-loss', message: /layer sha256:.*digest mismatch: got sha256:/ });
  const short = new VerifyingStream({ digest: sha256(data), size: 100 }, 'layer');
  short.end(data);
  await t.rejects(async () => { for await (const _ of short) void _; }, { code: 'data-loss', message: /got 11 bytes, expected 100/ });
});

t.test('media types', async (t) => {
  t.equal(layerCompression(MediaType.ociLayerZstd), 'zstd');
  t.equal(layerCompression(MediaType.dockerLayerGzip), 'gzip');
  t.equal(layerCompression(MediaType.ociLayer), 'none');
  t.equal(layerCompression(MediaType.ociManifest), undefined);
  t.ok(isForeignLayerType(MediaType.dockerLayerForeignGzip));
  t.ok(isForeignLayerType(MediaType.ociLayerNondistributableZstd));
  t.notOk(isForeignLayerType(MediaType.ociLayerGzip));
  t.equal(detectCompression(Buffer.from([0x1f, 0x8b, 8])), 'gzip');
  t.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
  t.equal(detectCompression(Buffer.from('ustar')), 'none');
});
