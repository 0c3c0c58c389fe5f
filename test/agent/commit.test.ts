// diff and commit against real overlay mounts: a container's changes (added, modified, deleted
// files, a directory deleted and made again, links, devices, owners, modes, xattrs) read back as
// docker's A/C/D list, committed into an image whose own overlay shows exactly the container's
// filesystem, and which survives a push and a pull unchanged. Runs as root (mount, chown).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { isBerthError } from '../../proto/errors';
import { EMPTY_LAYER_DIFF_ID, layerFromUpper } from '../../agent/diff/write-layer';
import type { ImageService } from '../../agent/images/service';
import type { ImageRecord, ImportLayerArgs } from '../../agent/images/types';
import { berthFs } from '../../agent/native';
import { changes, xattrsOf } from '../../agent/diff/changes';
import type { Change } from '../../agent/diff/types';
import { buildImage, busyboxLayer, pushImage, type LayerEntry } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { openTestImageService } from '../fixtures/service';

const LONG = `${'long-name-'.repeat(12)}.txt`;
const UNICODE = 'ünïcödé.txt';
/** Over ustar's 100 bytes, but it fits its prefix/name split. */
const DEEP_DIR = 'd'.repeat(60);
const DEEP_FILE = 'f'.repeat(60);

const baseLayer: LayerEntry[] = [
  ...busyboxLayer(),
  { path: 'data', type: 'dir' },
  { path: 'data/old', type: 'dir' },
  { path: 'data/old/a', type: 'file', content: 'old a' },
  { path: 'data/old/b', type: 'file', content: 'old b' },
  { path: 'data/old/sub', type: 'dir' },
  { path: 'data/old/sub/c', type: 'file', content: 'old c' },
  { path: 'data/gone.txt', type: 'file', content: 'to be deleted' },
  { path: 'data/gone-in-layer.txt', type: 'file', content: 'deleted by the next layer' },
  { path: 'data/keep.txt', type: 'file', content: 'keep' },
  { path: 'data/mod.txt', type: 'file', content: 'first version' },
  { path: 'data/owned.txt', type: 'file', content: 'owned' },
];
const topLayer: LayerEntry[] = [
  { path: 'data', type: 'dir' },
  { path: 'data/mod.txt', type: 'file', content: 'second version' },
  { path: 'data/layer2.txt', type: 'file', content: 'from layer 2' },
  { path: 'data/.wh.gone-in-layer.txt', type: 'file' },
];


interface Mounted {
  merged: string;
  unmount(): void;
}

/** An overlay mount, unmounted at teardown whatever happens to the test. */
function mountOverlay(t: Test, dir: string, lowers: string[], upper?: string): Mounted {
  const merged = path.join(dir, 'merged');
  fs.mkdirSync(merged, { recursive: true });
  const options = [`lowerdir=${lowers.join(':')}`, 'redirect_dir=off', 'index=off', 'metacopy=off'];
  if (upper) {
    const work = path.join(dir, 'work');
    fs.mkdirSync(upper, { recursive: true });
    fs.mkdirSync(work, { recursive: true });
    options.push(`upperdir=${upper}`, `workdir=${work}`);
  }
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', options.join(','), merged]);
  let mounted = true;
  const unmount = () => {
    if (!mounted) return;
    execFileSync('umount', [merged]);
    mounted = false;
  };
  t.teardown(() => {
    if (mounted) execFileSync('umount', ['-l', merged]);
  });
  return { merged, unmount };
}

/** What the container runtime's commit does with an upper dir: its layer tar, imported on `parent`. */
const commit = (service: ImageService, args: Omit<ImportLayerArgs, 'writeTar'> & { upper: string }): Promise<ImageRecord> =>
  service.importLayer({ ...args, writeTar: (out) => layerFromUpper(args.upper, out) });

const lowersOf = (service: ImageService, image: ImageRecord): string[] =>
  [...image.layers].reverse().map((l) => service.snapshots.dirOf(l.chainId));

interface Node {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  sha?: string;
  target?: string;
  rdev?: number;
  xattrs: Record<string, string>;
}

/** Everything a container could see of a tree, times and inode numbers aside. */
function snapshotTree(root: string): Map<string, Node> {
  const native = berthFs();
  const fd = native.openRoot(root);
  const out = new Map<string, Node>();
  const visit = (rel: string) => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const file = path.join(root, r);
      const st = fs.lstatSync(file);
      const byteRel = Buffer.from(r, 'utf8').toString('latin1');
      const xattrs: Record<string, string> = {};
      for (const [k, v] of xattrsOf(native, fd, byteRel)) xattrs[k] = v.toString('hex');
      const node: Node = { type: typeOf(st), mode: st.mode, uid: st.uid, gid: st.gid, xattrs };
      if (st.isFile()) {
        node.size = st.size;
        node.sha = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
      }
      if (st.isSymbolicLink()) node.target = fs.readlinkSync(file);
      if (st.isCharacterDevice() || st.isBlockDevice()) node.rdev = st.rdev;
      out.set(r, node);
      if (st.isDirectory()) visit(r);
    }
  };
  try {
    visit('');
  } finally {
    native.close(fd);
  }
  return out;
}

const typeOf = (st: fs.Stats): string =>
  st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'other';

const byPath = (a: Change, b: Change) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** A container's worth of changes, made through the overlay as a process in it would. */
function changeThings(merged: string): void {
  const p = (rel: string) => path.join(merged, rel);
  fs.writeFileSync(p('data/new.txt'), 'new file');
  fs.appendFileSync(p('data/mod.txt'), ', then changed');
  fs.rmSync(p('data/gone.txt'));
  fs.rmSync(p('data/layer2.txt'));
  // Deleted and made again: an opaque directory in the upper dir.
  fs.rmSync(p('data/old'), { recursive: true });
  fs.mkdirSync(p('data/old'));
  fs.writeFileSync(p('data/old/a'), 'another a');
  fs.writeFileSync(p('data/old/z'), 'z');
  fs.symlinkSync('new.txt', p('data/link'));
  fs.linkSync(p('data/new.txt'), p('data/hard'));
  // A hard link to an image file: copied up first, then linked in the upper dir.
  fs.linkSync(p('etc/passwd'), p('etc/passwd2'));
  fs.chmodSync(p('data/keep.txt'), 0o600);
  fs.chownSync(p('data/owned.txt'), 1000, 1001);
  execFileSync('mkfifo', ['-m', '0640', p('data/fifo')]);
  execFileSync('mknod', ['-m', '0600', p('data/null'), 'c', '1', '3']);
  fs.writeFileSync(p(`data/${LONG}`), 'a name longer than ustar holds');
  fs.writeFileSync(p(`data/${UNICODE}`), 'not ASCII');
  fs.mkdirSync(p(`data/${DEEP_DIR}`));
  fs.writeFileSync(p(`data/${DEEP_DIR}/${DEEP_FILE}`), 'deep');
  const native = berthFs();
  const root = native.openRoot(merged);
  try {
    native.setxattr(root, 'data/keep.txt', 'user.berth', Buffer.from('hello'));
    // Binary, and with bytes that are not UTF-8: must come back byte for byte.
    native.setxattr(root, 'data/new.txt', 'user.bin', Buffer.from([0, 0xff, 0x0a, 0x3d, 0xc3]));
  } finally {
    native.close(root);
  }
}

const EXPECTED: Change[] = ([
  { kind: 'C', path: '/data' },
  { kind: 'A', path: `/data/${DEEP_DIR}` },
  { kind: 'A', path: `/data/${DEEP_DIR}/${DEEP_FILE}` },
  { kind: 'A', path: '/data/fifo' },
  { kind: 'D', path: '/data/gone.txt' },
  { kind: 'A', path: '/data/hard' },
  { kind: 'C', path: '/data/keep.txt' },
  { kind: 'D', path: '/data/layer2.txt' },
  { kind: 'A', path: '/data/link' },
  { kind: 'A', path: `/data/${LONG}` },
  { kind: 'C', path: '/data/mod.txt' },
  { kind: 'A', path: '/data/new.txt' },
  { kind: 'A', path: '/data/null' },
  { kind: 'C', path: '/data/old' },
  { kind: 'C', path: '/data/old/a' },
  { kind: 'D', path: '/data/old/b' },
  { kind: 'D', path: '/data/old/sub' },
  { kind: 'A', path: '/data/old/z' },
  { kind: 'C', path: '/data/owned.txt' },
  { kind: 'A', path: `/data/${UNICODE}` },
  { kind: 'C', path: '/etc' },
  { kind: 'C', path: '/etc/passwd' },
  { kind: 'A', path: '/etc/passwd2' },
] as Change[]).sort(byPath);

async function pulledBase(t: Test): Promise<{ service: ImageService; parent: ImageRecord; host: string }> {
  const registry = await startRegistry(t);
  // Docker-typed layers below: the commit's OCI manifest must name them by their OCI types.
  const image = await buildImage({ layers: [baseLayer, topLayer], format: 'docker', config: { author: 'base author' } });
  await pushImage(registry.host, 'base/app:v1', image);
  const service = await openTestImageService(t);
  const parent = await service.pull(`${registry.host}/base/app:v1`);
  return { service, parent, host: registry.host };
}

t.test('diff and commit of a changed container', async (t) => {
  const { service, parent, host } = await pulledBase(t);
  const dir = path.join(service.root, 'view');
  const upper = path.join(service.root, 'containers-test', 'upper');
  const container = mountOverlay(t, path.join(service.root, 'containers-test'), lowersOf(service, parent), upper);
  changeThings(container.merged);
  const before = snapshotTree(container.merged);
  container.unmount();

  t.same(await changes(upper, lowersOf(service, parent)), EXPECTED, 'docker diff list');

  const name = `${host}/committed/app:v1`;
  const image = await commit(service, {
    parent, upper, repoTag: name, author: 'Berth Tester <t@example.com>', message: 'a commit',
    createdBy: '/bin/sh -c make-things', containerConfig: { Cmd: ['/bin/sh', '-c', 'cat /data/new.txt'], Env: ['A=1'] },
  });
  t.equal(image.layers.length, parent.layers.length + 1, 'one layer more');
  t.same(image.layers.slice(0, -1).map((l) => l.chainId), parent.layers.map((l) => l.chainId), 'the parent layers are shared');
  t.same(image.repoTags, [name]);
  t.equal(service.resolve(name).id, image.id);
  t.equal(image.layers.at(-1)!.descriptor.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  t.ok(image.layers.slice(0, -1).every((l) => l.descriptor.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip'), 'docker layer types named as OCI ones');

  const config = await service.config(image);
  t.equal(config.author, 'Berth Tester <t@example.com>');
  t.same(config.config?.Cmd, ['/bin/sh', '-c', 'cat /data/new.txt']);
  t.same(config.config?.Env, ['A=1']);
  t.equal(config.history?.length, 3);
  t.match(config.history?.at(-1), { created_by: '/bin/sh -c make-things', author: 'Berth Tester <t@example.com>', comment: 'a commit', created: image.created });
  const rows = await service.history(name);
  t.equal(rows[0]!.id, image.id);
  t.equal(rows[0]!.comment, 'a commit');
  t.ok(rows[0]!.size > 0, 'history shows the new layer size');

  // What a container of the committed image sees: its layers alone, deletions included.
  const view = mountOverlay(t, dir, lowersOf(service, image));
  const after = snapshotTree(view.merged);
  const diffs = [...new Set([...before.keys(), ...after.keys()])].filter((k) => JSON.stringify(before.get(k)) !== JSON.stringify(after.get(k)));
  t.same(diffs.map((k) => ({ path: k, before: before.get(k), after: after.get(k) })), [], 'the committed image shows the container filesystem exactly');
  t.ok(before.size > 20, 'the comparison saw the whole tree');
  t.equal(after.get('data/keep.txt')?.xattrs['user.berth'], Buffer.from('hello').toString('hex'), 'user xattr kept');
  t.equal(after.get('data/new.txt')?.xattrs['user.bin'], '00ff0a3dc3', 'binary xattr kept byte for byte');
  t.equal(fs.statSync(path.join(view.merged, 'data/hard')).ino, fs.statSync(path.join(view.merged, 'data/new.txt')).ino, 'hard link kept');
  t.notOk(fs.existsSync(path.join(view.merged, 'data/old/b')), 'opaque directory hides the old contents');
  view.unmount();

  // The same image, pushed and pulled by another agent.
  const pushed = await service.push(name);
  t.equal(pushed.digest, image.manifest.digest, 'manifest pushed byte for byte');
  const other = await openTestImageService(t, { root: path.join(dir, 'other') });
  const pulled = await other.pull(name);
  t.equal(pulled.id, image.id, 'same image ID after push and pull');
  t.same(pulled.layers.map((l) => l.diffId), image.layers.map((l) => l.diffId));
});

t.test('layer tar: whiteouts, opaque markers, links, PAX', async (t) => {
  const { service, parent } = await pulledBase(t);
  const upper = path.join(service.root, 'c2', 'upper');
  const container = mountOverlay(t, path.join(service.root, 'c2'), lowersOf(service, parent), upper);
  changeThings(container.merged);
  container.unmount();

  const chunks: Buffer[] = [];
  const { PassThrough } = await import('node:stream');
  const out = new PassThrough();
  out.on('data', (c: Buffer) => chunks.push(c));
  const first = await layerFromUpper(upper, out);
  const tar = Buffer.concat(chunks);
  t.equal(first.size, tar.length);
  t.equal(first.diffId, `sha256:${createHash('sha256').update(tar).digest('hex')}`);
  const again = await layerFromUpper(upper, new PassThrough().resume());
  t.equal(again.diffId, first.diffId, 'deterministic');

  // GNU tar, as an independent reader.
  const listing = execFileSync('tar', ['-tvf', '-', '--xattrs', '--xattrs-include=*'], { input: tar }).toString();
  const names = execFileSync('tar', ['-tf', '-'], { input: tar }).toString().trim().split('\n');
  t.ok(names.includes('data/.wh.gone.txt'), 'whiteout as .wh. file');
  t.ok(names.includes('data/.wh.layer2.txt'));
  t.ok(names.includes('data/old/.wh..wh..opq'), 'opaque marker');
  t.ok(names.includes(`data/${LONG}`), 'long name via PAX');
  t.ok(names.includes(`data/${UNICODE}`), 'non-ASCII name via PAX');
  t.ok(names.includes(`data/${DEEP_DIR}/${DEEP_FILE}`), 'long name in ustar prefix and name');
  t.notOk(tar.includes(Buffer.from(`path=data/${DEEP_DIR}`)), 'without a PAX record');
  t.notOk(names.some((n) => n.includes('.wh.b') || n.includes('.wh.sub')), 'hidden entries of an opaque dir get no whiteouts');
  // Names are sorted, so the first name of the inode is data/hard.
  t.match(listing, /data\/new\.txt link to data\/hard/, 'hard link');
  t.match(listing, /etc\/passwd2 link to etc\/passwd/, 'hard link to a copied-up file');
  t.match(listing, /lrwxrwxrwx .* data\/link -> new\.txt/);
  t.match(listing, /prw-r----- .* data\/fifo/);
  t.match(listing, /crw------- .* 1,3 .*data\/null/);
  t.match(listing, /1000\/1001 .* data\/owned\.txt/);
  t.notOk(names.some((n) => n.startsWith('PaxHeaders')), 'PAX headers are not entries');
});

t.test('commit of an unchanged container makes an empty layer', async (t) => {
  const { service, parent } = await pulledBase(t);
  const upper = path.join(service.root, 'c3', 'upper');
  fs.mkdirSync(upper, { recursive: true });
  t.same(await changes(upper, lowersOf(service, parent)), []);
  const image = await commit(service, { parent, upper });
  t.equal(image.layers.length, parent.layers.length + 1);
  t.equal(image.layers.at(-1)!.diffId, EMPTY_LAYER_DIFF_ID, 'the empty tar docker makes too');
  t.same(image.repoTags, [], 'untagged');
  t.ok(service.list({ dangling: true }).some((i) => i.id === image.id), 'listed as dangling');
  t.ok(await service.snapshots.stat(image.layers.at(-1)!.chainId), 'its snapshot exists');
});

t.test('an invalid name is refused before anything is written', async (t) => {
  const { service, parent } = await pulledBase(t);
  const upper = path.join(service.root, 'c4', 'upper');
  fs.mkdirSync(upper, { recursive: true });
  fs.writeFileSync(path.join(upper, 'file'), 'x');
  const blobs = (await service.content.list()).sort();
  const images = service.list().length;
  for (const bad of ['Upper/Case:tag', 'name:bad tag', 'name@sha256:' + '0'.repeat(64), 'name:-x']) {
    const err = await commit(service, { parent, upper, repoTag: bad }).then(() => undefined, (e: unknown) => e);
    t.ok(isBerthError(err) && err.code === 'invalid-argument' && err.message.includes(bad), `${bad}: ${String(err)}`);
  }
  t.same((await service.content.list()).sort(), blobs, 'no blob written');
  t.equal(service.list().length, images, 'no image written');
  const scratch = path.join(service.root, 'tmp');
  t.same(fs.existsSync(scratch) ? fs.readdirSync(scratch) : [], [], 'no spool left');
});

t.test('symlink swaps during a commit', async (t) => {
  const { service, parent } = await pulledBase(t);
  const SECRET = `host-only-${Date.now()}`;
  // Outside the upper dir, as the host's files are.
  const outside = path.join(service.root, 'outside');
  fs.mkdirSync(path.join(outside, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'file'), SECRET);
  fs.writeFileSync(path.join(outside, 'sub', 'deep'), SECRET);
  const root = path.join(service.root, 'c5');
  const upper = path.join(root, 'upper');
  const container = mountOverlay(t, root, lowersOf(service, parent), upper);
  const p = (rel: string) => path.join(container.merged, rel);
  fs.writeFileSync(p('aaa'), 'first');
  fs.mkdirSync(p('box/sub'), { recursive: true });
  fs.writeFileSync(p('box/file'), 'layer file');
  fs.writeFileSync(p('box/sub/deep'), 'layer deep');
  fs.mkdirSync(p('box2'));
  fs.writeFileSync(p('box2/shadow'), 'layer shadow');
  container.unmount();

  // What a container's process could do at each of these moments, done at exactly that moment.
  const u = (rel: string) => path.join(upper, rel);
  const swaps: Record<string, () => void> = {
    // box2 is listed but not yet opened: it is read as the symlink it has become.
    aaa: () => {
      fs.rmSync(u('box2'), { recursive: true });
      fs.symlinkSync('/etc', u('box2'));
    },
    // box is open: its name now points outside, its descriptor still at the layer's directory.
    box: () => {
      fs.renameSync(u('box'), u('box.old'));
      fs.symlinkSync(outside, u('box'));
    },
    // box/file is open: replaced meanwhile by a symlink to a host file.
    'box/file': () => {
      fs.rmSync(u('box.old/file'));
      fs.symlinkSync(path.join(outside, 'file'), u('box.old/file'));
    },
  };
  const seen: string[] = [];
  const chunks: Buffer[] = [];
  const { PassThrough } = await import('node:stream');
  const out = new PassThrough();
  out.on('data', (c: Buffer) => chunks.push(c));
  await layerFromUpper(upper, out, { onOpened: (rel) => { seen.push(rel); swaps[rel]?.(); } });
  const tar = Buffer.concat(chunks);
  t.same(Object.keys(swaps).filter((k) => !seen.includes(k)), [], 'every swap happened during the walk');

  t.notOk(tar.includes(Buffer.from(SECRET)), 'nothing of the host directory the symlink points at');
  const shadow = fs.existsSync('/etc/shadow') ? fs.readFileSync('/etc/shadow') : Buffer.alloc(0);
  if (shadow.length > 16) t.notOk(tar.includes(shadow), 'nor the host /etc/shadow');
  const listing = execFileSync('tar', ['-tvf', '-'], { input: tar }).toString();
  t.match(listing, /lrwxrwxrwx .* box2 -> \/etc\n/, 'box2 committed as the symlink it was when opened');
  t.notOk(/box2\//.test(listing), 'and nothing below it');
  const names = execFileSync('tar', ['-tf', '-'], { input: tar }).toString().trim().split('\n');
  t.same(names.filter((n) => n.startsWith('box/')).sort(), ['box/', 'box/file', 'box/sub/', 'box/sub/deep'], 'box as the directory it was when opened');
  t.equal(execFileSync('tar', ['-xOf', '-', 'box/file'], { input: tar }).toString(), 'layer file', 'the file that was opened');
  t.equal(execFileSync('tar', ['-xOf', '-', 'box/sub/deep'], { input: tar }).toString(), 'layer deep');

  // The same upper dir, now holding symlinks to the host, committed whole: still only the layer.
  const image = await commit(service, { parent, upper });
  const view = mountOverlay(t, path.join(service.root, 'c5-view'), lowersOf(service, image));
  t.equal(fs.readlinkSync(path.join(view.merged, 'box')), outside, 'a symlink, kept as one');
  t.equal(fs.readlinkSync(path.join(view.merged, 'box.old/file')), path.join(outside, 'file'));
  t.same(fs.readdirSync(path.join(view.merged, 'box.old')).sort(), ['file', 'sub']);
  view.unmount();
});
