// A build step's upper dir made into its layer's snapshot in place (diff/upper-snapshot.ts) must
// be exactly what unpacking the layer tar written from it gives: every entry's type, owner, mode,
// size, content, link target, device numbers, xattrs (overlay's included), hard-link structure and
// times, with and without SOURCE_DATE_EPOCH's clamp. The upper dirs are made by real overlay
// mounts (copy-ups, deletions, an opaque directory, a socket...). Runs as root (mount, mknod).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import t, { type Test } from 'tap';
import { isBerthError } from '../../proto/errors';
import { applyLayer } from '../../agent/diff/apply';
import { entryFix, upperLayer } from '../../agent/diff/upper-snapshot';
import { layerFromUpper, type LayerWriteOptions } from '../../agent/diff/write-layer';
import { berthFs } from '../../agent/native';
import { openTestImageService } from '../fixtures/service';

const LIMITS = { maxLayerBytes: 1 << 30, maxHeaderBytes: 1 << 20 };

/** A lower dir with something to copy up, delete and hide. */
function makeLower(dir: string): void {
  const p = (rel: string) => path.join(dir, rel);
  fs.mkdirSync(p('etc'), { recursive: true });
  fs.writeFileSync(p('etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  fs.mkdirSync(p('build/old/sub'), { recursive: true });
  fs.writeFileSync(p('build/old/a'), 'a');
  fs.writeFileSync(p('build/old/sub/b'), 'b');
  fs.writeFileSync(p('build/gone'), 'gone');
  fs.writeFileSync(p('build/mod'), 'first');
  fs.writeFileSync(p('build/chowned'), 'c');
}

/** What a RUN could do to its root filesystem, through the overlay. */
async function changeThings(merged: string): Promise<void> {
  const p = (rel: string) => path.join(merged, rel);
  fs.mkdirSync(p('build/src/deep'), { recursive: true });
  fs.writeFileSync(p('build/src/deep/x.c'), 'int x;');
  fs.writeFileSync(p('build/src/y.c'), 'int y;');
  fs.appendFileSync(p('build/mod'), ', then changed');
  fs.chownSync(p('build/chowned'), 1000, 1001);
  fs.rmSync(p('build/gone'));
  fs.rmSync(p('build/old'), { recursive: true });
  fs.mkdirSync(p('build/old'));
  fs.writeFileSync(p('build/old/new'), 'new');
  fs.linkSync(p('build/src/y.c'), p('build/src/y-link.c'));
  fs.linkSync(p('etc/passwd'), p('etc/passwd-link'));
  fs.symlinkSync('../etc/passwd', p('build/passwd'));
  fs.writeFileSync(p('build/setuid'), '#!/bin/sh\n');
  fs.chmodSync(p('build/setuid'), 0o4755);
  execFileSync('mkfifo', ['-m', '0640', p('build/fifo')]);
  execFileSync('mknod', ['-m', '0600', p('build/null'), 'c', '1', '3']);
  fs.mkdirSync(p('out'), { mode: 0o700 });
  fs.writeFileSync(p('out/report'), 'files 2');
  fs.writeFileSync(p(`out/${'long-name-'.repeat(12)}`), 'long');
  fs.writeFileSync(p('out/ünïcödé'), 'not ASCII');
  // A socket a process left behind: no layer holds one.
  execFileSync('python3', ['-c', 'import socket; socket.socket(socket.AF_UNIX).bind("sock")'], { cwd: p('out') });
  const native = berthFs();
  const root = native.openRoot(merged);
  try {
    native.setxattr(root, 'build/src/y.c', 'user.bin', Buffer.from([0, 0xff, 0x0a]));
    native.setxattr(root, 'build/setuid', 'security.capability', Buffer.from('0100000200200000000000000000000000000000', 'hex'));
    native.setxattr(root, 'out', 'trusted.berth', Buffer.from('kept'));
  } finally {
    native.close(root);
  }
  // Times: one in the past with nanoseconds, one in the future (past any clamp).
  fs.utimesSync(p('build/src/y.c'), new Date(1_500_000_000_123), new Date(1_500_000_000_987));
  fs.utimesSync(p('out/report'), new Date(4_000_000_000_000), new Date(4_000_000_000_000));
}

/** An upper dir made through a real overlay over a fresh lower. */
async function makeUpper(t: Test, dir: string): Promise<string> {
  const lower = path.join(dir, 'lower');
  const upper = path.join(dir, 'upper');
  const work = path.join(dir, 'work');
  const merged = path.join(dir, 'merged');
  for (const d of [lower, upper, work, merged]) fs.mkdirSync(d, { recursive: true });
  makeLower(lower);
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work},redirect_dir=off,index=off,metacopy=off`, merged]);
  let mounted = true;
  t.teardown(() => {
    if (mounted) execFileSync('umount', ['-l', merged]);
  });
  try {
    await changeThings(merged);
  } finally {
    execFileSync('umount', [merged]);
    mounted = false;
  }
  return upper;
}

interface Seen {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  rdev: number;
  target?: string;
  xattrs: Record<string, string>;
  /** The first path of its inode (hard links). */
  inode: string;
  mtimeNs?: string;
  atimeNs?: string;
  sha?: string;
}

/** Everything about a tree, its root included: times first (reading content moves atimes). */
function describe(root: string): Record<string, Seen> {
  const native = berthFs();
  const fd = native.openRoot(root);
  const out: Record<string, Seen> = {};
  const inodes = new Map<bigint, string>();
  const visit = (rel: string) => {
    const file = path.join(root, rel);
    const st = fs.lstatSync(file, { bigint: true });
    const byteRel = Buffer.from(rel, 'utf8').toString('latin1');
    const xattrs: Record<string, string> = {};
    for (const k of native.listxattr(fd, byteRel).sort()) xattrs[k] = native.getxattr(fd, byteRel, k)!.toString('hex');
    const whiteout = st.isCharacterDevice() && st.rdev === 0n;
    const first = inodes.get(st.ino) ?? rel;
    if (!st.isDirectory()) inodes.set(st.ino, first);
    out[rel] = {
      type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isSocket() ? 'socket' : 'other',
      mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid), size: st.isDirectory() ? 0 : Number(st.size), rdev: Number(st.rdev), xattrs,
      // Whiteouts carry no time in the tar, and overlay may give them all one inode.
      inode: whiteout ? rel : first,
      ...(whiteout || rel === '' ? {} : { mtimeNs: String(st.mtimeNs), atimeNs: String(st.atimeNs) }),
      ...(st.isSymbolicLink() ? { target: fs.readlinkSync(file) } : {}),
    };
    if (st.isDirectory()) for (const name of fs.readdirSync(file).sort()) visit(rel === '' ? name : `${rel}/${name}`);
  };
  try {
    visit('');
  } finally {
    native.close(fd);
  }
  for (const [rel, seen] of Object.entries(out)) {
    if (seen.type === 'file') seen.sha = createHash('sha256').update(fs.readFileSync(path.join(root, rel))).digest('hex');
  }
  return out;
}

/** What `write` writes to a stream, whole. */
async function written(write: (out: PassThrough) => Promise<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const out = new PassThrough();
  out.on('data', (c: Buffer) => chunks.push(c));
  await write(out);
  out.end();
  return Buffer.concat(chunks);
}

/** `upper` as a build step takes it: settled into a snapshot, then written as its tar from there. */
function layerOf(upper: string, options: LayerWriteOptions): { settle: (into: string, maxLayerBytes?: number) => Promise<number | undefined>; tar: () => Promise<Buffer> } {
  const layer = upperLayer(upper, options);
  return {
    settle: (into, maxLayerBytes = LIMITS.maxLayerBytes) => layer.settleInto(into, maxLayerBytes),
    tar: () => written((out) => layer.writeTar(out)),
  };
}

/** A layer tar unpacked into `into` as a pull would; returns the unpacked bytes. */
async function unpack(tar: Buffer, into: string): Promise<number> {
  fs.mkdirSync(into, { mode: 0o755 });
  return (await applyLayer(Readable.from([tar]), into, LIMITS)).bytes;
}

for (const clamp of [undefined, 1_600_000_000]) {
  t.test(`the settled upper dir is the unpacked layer${clamp === undefined ? '' : ', SOURCE_DATE_EPOCH clamped'}`, async (t) => {
    const dir = t.testdir();
    const upper = await makeUpper(t, dir);
    const options = clamp === undefined ? {} : { maxMtime: clamp };
    // The overlay's own bookkeeping is there to be removed.
    const native = berthFs();
    const fd = native.openRoot(upper);
    t.ok(native.listxattr(fd, 'build').includes('trusted.overlay.origin'), 'a copied-up directory carries its origin');
    t.equal(native.getxattr(fd, 'build/old', 'trusted.overlay.opaque')?.toString(), 'y', 'an opaque directory');
    native.close(fd);

    // The tar the upper dir gives as it is, before anything is settled.
    const fromUpper = await written((out) => layerFromUpper(upper, out, options));
    const layer = layerOf(upper, options);
    const settled = path.join(dir, 'settled');
    fs.mkdirSync(settled, { mode: 0o755 });
    const size = await layer.settle(settled);
    t.same(fs.readdirSync(upper), [], 'the upper dir was moved, not copied');
    const tar = await layer.tar();
    t.ok(tar.equals(fromUpper), 'the tar written from the settled snapshot is the very tar of the upper dir');
    const unpacked = path.join(dir, 'unpacked');
    const bytes = await unpack(tar, unpacked);
    t.equal(size, bytes, 'the same content bytes as unpacking counts');

    const want = describe(unpacked);
    const got = describe(settled);
    const paths = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
    const differ = paths.filter((p) => JSON.stringify(want[p]) !== JSON.stringify(got[p])).map((p) => ({ path: p, unpacked: want[p], settled: got[p] }));
    t.same(differ, [], 'entry by entry, the same');
    t.ok(paths.length > 20, `the comparison saw the whole tree (${paths.length} entries)`);
    t.notOk('out/sock' in got, 'no socket');
    t.equal(got['build/old']!.xattrs['trusted.overlay.opaque'], Buffer.from('y').toString('hex'), 'opaque kept');
    t.notOk(Object.keys(got['build']!.xattrs).length, 'origin and impure gone');
    if (clamp !== undefined) t.equal(got['out/report']!.mtimeNs, `${BigInt(clamp) * 1_000_000_000n}`, 'a later time clamped');
    else t.equal(got['build/src/y.c']!.mtimeNs, '1500000000000000000', 'whole seconds, as the tar holds them');
  });
}

t.test('a layer past the size limit is refused as unpacking refuses it', async (t) => {
  const dir = t.testdir();
  const upper = await makeUpper(t, dir);
  const into = path.join(dir, 'into');
  fs.mkdirSync(into);
  const layer = layerOf(upper, {});
  const err = await layer.settle(into, 10).then(() => undefined, (e: unknown) => e);
  t.ok(isBerthError(err) && err.code === 'resource-exhausted', 'resource-exhausted');
});

t.test('another filesystem: nothing is touched, the caller unpacks', async (t) => {
  const dir = t.testdir({ upper: { f: 'x' } });
  const into = path.join(dir, 'tmpfs');
  fs.mkdirSync(into);
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', into]);
  try {
    const layer = layerOf(path.join(dir, 'upper'), {});
    t.equal(await layer.settle(into), undefined);
    t.same(fs.readdirSync(path.join(dir, 'upper')), ['f']);
    t.same(fs.readdirSync(into), []);
    t.match((await layer.tar()).subarray(0, 100).toString('latin1'), /^f\0/, 'the tar is then the upper dir\'s');
  } finally {
    execFileSync('umount', ['-l', into]);
  }
});

t.test('entryFix: what each kind of entry needs', async (t) => {
  t.same(entryFix('socket', [], false, 5), { remove: true, dropXattrs: [] });
  t.same(entryFix('whiteout', ['trusted.overlay.origin', 'user.x'], false, 5), { remove: false, dropXattrs: ['trusted.overlay.origin', 'user.x'] });
  t.same(entryFix('dir', ['trusted.overlay.impure', 'trusted.overlay.opaque', 'user.x'], true, 7), { remove: false, dropXattrs: ['trusted.overlay.impure'], time: 7 });
  t.same(entryFix('dir', ['trusted.overlay.opaque'], false, 7).dropXattrs, ['trusted.overlay.opaque'], 'only opaque=y means opaque');
  t.same(entryFix('other', ['security.capability', 'trusted.overlay.origin'], false, 7).dropXattrs, ['trusted.overlay.origin']);
});

t.test('a name only a whiteout may have is refused before anything moves', async (t) => {
  const dir = t.testdir({ upper: { '.wh.f': 'x' }, into: {} });
  await t.rejects(upperLayer(path.join(dir, 'upper')).settleInto(path.join(dir, 'into'), 1 << 20), /\/\.wh\.f: a file name starting with "\.wh\." cannot be committed/);
  t.same(fs.readdirSync(path.join(dir, 'upper')), ['.wh.f']);
  t.same(fs.readdirSync(path.join(dir, 'into')), []);
});

t.test('a build layer through the image service: the snapshot at once, the plain tar as its blob, gzipped when an image needs it; or unpacked from the blob', async (t) => {
  const service = await openTestImageService(t);
  for (const adopt of [true, false]) {
    const dir = path.join(service.root, `case-${adopt}`);
    fs.mkdirSync(dir);
    const upper = await makeUpper(t, dir);
    const layer = upperLayer(upper);
    // Without adopt, the snapshot cannot be made in place (another filesystem, as settleInto says).
    const settling = { settleInto: async (into: string, max: number) => (adopt ? layer.settleInto(into, max) : undefined), writeTar: layer.writeTar };
    const { later, record, gzipped, stackable } = await service.holdingCollector(async () => {
      const made = await service.storeLayerLater(Promise.resolve([]), settling);
      // The snapshot is there to stack before its tar is written.
      const stackable = fs.existsSync(path.join(made.dir, 'build'));
      const stored = await made.record;
      await made.commit();
      return { later: made, record: stored, gzipped: await service.gzippedLayer(stored), stackable };
    });
    t.ok(stackable, 'the snapshot\'s directory has the layer at once');
    const info = await service.snapshots.stat(record.chainId);
    t.ok(info, `${adopt ? 'settled' : 'unpacked'}: the snapshot is committed`);
    t.equal(info?.size, later.size);
    t.equal(service.snapshots.dirOf(record.chainId) === later.dir, !adopt, adopt ? 'committed from the pending directory' : 'unpacked in place');
    t.equal(record.chainId, record.diffId, 'a base layer: its chain ID is its diff ID');
    t.same(record.descriptor.mediaType, 'application/vnd.oci.image.layer.v1.tar');
    t.equal(record.descriptor.digest, record.diffId, 'the blob is the plain tar');
    const tar = await service.content.read(record.descriptor.digest);
    t.equal(tar.length, record.descriptor.size);
    t.match(gzipped, { diffId: record.diffId, chainId: record.chainId, descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' } });
    const blob = await service.content.read(gzipped.descriptor.digest);
    t.equal(blob.length, gzipped.descriptor.size);
    t.ok(zlib.gunzipSync(blob).equals(tar), 'the gzipped blob is the same tar');
    t.equal(await service.gzippedLayer(gzipped), gzipped, 'a gzipped layer is left as it is');
    t.same(fs.readdirSync(path.join(service.root, 'tmp')).filter((f) => f.startsWith('layer-')), [], 'no spool left');
    if (adopt) t.same(fs.readdirSync(upper), [], 'the upper dir became the snapshot');
    else t.not(fs.readdirSync(upper).length, 0, 'the upper dir was left as it was');
  }
});

t.test('a layer whose tar fails to be written leaves nothing behind', async (t) => {
  const service = await openTestImageService(t);
  const failing = async (out: NodeJS.WritableStream) => {
    out.write(Buffer.alloc(4096));
    throw new Error('the walk failed');
  };
  await service.holdingCollector(async () => {
    const made = await service.storeLayerLater(Promise.resolve([]), { settleInto: async () => 0, writeTar: failing });
    await t.rejects(made.record, /the walk failed/);
    await made.commit();
  });
  t.same(fs.readdirSync(path.join(service.root, 'tmp')).filter((f) => f.startsWith('layer-')), [], 'no spool left');
  t.same(await service.snapshots.list(), [], 'no snapshot');
  t.same(fs.readdirSync(path.join(service.root, 'snapshots', 'tmp')), [], 'the pending snapshot dropped');
});
