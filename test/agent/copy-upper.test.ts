// COPY's fast way (build/rootfs.ts writeItems): what goes below a directory the copy made is
// written straight into the upper dir once the overlay is unmounted. That upper dir must be the
// one writing everything through the overlay gives: the same entries, owners, modes, times,
// xattrs and overlay markers (the directory the copy made is a copy-up's child: /build's origin
// and impure marks). Real overlay mounts, so root.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { type CopyItem, rootfsTree, writeItems } from '../../agent/build/rootfs';
import { berthFs } from '../../agent/native';

/** Two layers: the lower has /build/src/old.c, the one above deletes /build/src (a whiteout). */
function makeLowers(dir: string): string[] {
  const bottom = path.join(dir, 'bottom');
  const top = path.join(dir, 'top');
  fs.mkdirSync(path.join(bottom, 'build/src'), { recursive: true });
  fs.writeFileSync(path.join(bottom, 'build/src/old.c'), 'old');
  fs.mkdirSync(path.join(bottom, 'build/keep'), { recursive: true });
  fs.mkdirSync(path.join(top, 'build'), { recursive: true });
  execFileSync('mknod', [path.join(top, 'build/src'), 'c', '0', '0']);
  return [top, bottom];
}

/** A context to copy: nested directories, a symlink, modes, an xattr, odd times. */
function makeSources(dir: string): string {
  const src = path.join(dir, 'ctx');
  fs.mkdirSync(path.join(src, 'src/a/deep'), { recursive: true });
  fs.mkdirSync(path.join(src, 'src/b'), { recursive: true });
  fs.writeFileSync(path.join(src, 'src/a/x.c'), 'int x;');
  fs.writeFileSync(path.join(src, 'src/a/deep/y.c'), 'int y;');
  fs.writeFileSync(path.join(src, 'src/b/run.sh'), '#!/bin/sh\n', { mode: 0o4755 });
  fs.chmodSync(path.join(src, 'src/b/run.sh'), 0o4755);
  fs.symlinkSync('../a/x.c', path.join(src, 'src/b/link.c'));
  fs.writeFileSync(path.join(src, 'src/big.bin'), Buffer.alloc(2 * 1024 * 1024 + 3, 7));
  const native = berthFs();
  const root = native.openRoot(src);
  native.setxattr(root, 'src/a/x.c', 'user.berth', Buffer.from('kept'));
  native.close(root);
  fs.utimesSync(path.join(src, 'src/a/x.c'), new Date(1_500_000_000_123), new Date(1_500_000_000_987));
  fs.utimesSync(path.join(src, 'src/a'), new Date(1_400_000_000_000), new Date(1_400_000_000_000));
  return src;
}

async function itemsOf(src: string, dest: string): Promise<CopyItem[]> {
  const tree = rootfsTree(src);
  const dir = (await tree.resolve('src'))!;
  const items: CopyItem[] = [{ source: dir, dest }];
  for (const child of await tree.descendants(dir)) items.push({ source: child, dest: `${dest}/${child.rel.slice('src/'.length)}` });
  return items;
}

/** Copy into a fresh overlay over `lowers`; `direct`: the fast way. Returns the upper dir. */
async function copy(dir: string, lowers: string[], items: CopyItem[], direct: boolean): Promise<string> {
  const [upper, work, merged] = ['upper', 'work', 'merged'].map((d) => path.join(dir, d)) as [string, string, string];
  for (const d of [upper, work, merged]) fs.mkdirSync(d, { recursive: true });
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work},redirect_dir=off,index=off,metacopy=off`, merged]);
  let rest;
  try {
    rest = await writeItems(merged, items, { chown: { uid: 1000, gid: 1001 }, throughRoot: !direct });
  } finally {
    execFileSync('umount', [merged]);
  }
  await rest.finish(upper);
  return upper;
}

/** Everything about a tree below `rel`: times of what the copy set, not of what it only wrote into. */
function describe(root: string, skipTimes: Set<string>): Record<string, unknown> {
  const native = berthFs();
  const fd = native.openRoot(root);
  const out: Record<string, unknown> = {};
  const visit = (rel: string) => {
    const file = path.join(root, rel);
    const st = fs.lstatSync(file, { bigint: true });
    const xattrs: Record<string, string> = {};
    // The root's are the mount's own (its uuid).
    if (rel !== '') for (const k of native.listxattr(fd, rel).sort()) xattrs[k] = native.getxattr(fd, rel, k)!.toString('hex');
    out[rel || '.'] = {
      mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid), rdev: Number(st.rdev), xattrs,
      ...(skipTimes.has(rel) || st.isCharacterDevice() ? {} : { mtimeNs: String(st.mtimeNs) }),
      ...(st.isFile() ? { sha: createHash('sha256').update(fs.readFileSync(file)).digest('hex') } : {}),
      ...(st.isSymbolicLink() ? { target: fs.readlinkSync(file) } : {}),
    };
    if (st.isDirectory()) for (const name of fs.readdirSync(file).sort()) visit(rel ? `${rel}/${name}` : name);
  };
  try {
    visit('');
  } finally {
    native.close(fd);
  }
  return out;
}

t.test('writing below a new directory straight into the upper dir gives what the overlay gives', async (t) => {
  const dir = t.testdir();
  const lowers = makeLowers(dir);
  const items = await itemsOf(makeSources(dir), 'build/src');
  const slow = await copy(path.join(dir, 'through-overlay'), lowers, items, false);
  const fast = await copy(path.join(dir, 'straight'), lowers, items, true);
  // The root and /build: only written into (their times are when).
  const skip = new Set(['', 'build']);
  const want = describe(slow, skip);
  const got = describe(fast, skip);
  t.same(got, want, 'the same upper dir');
  t.ok(Object.keys(want).length >= 10, 'the comparison saw the copy');
  const source = fs.lstatSync(path.join(dir, 'ctx/src/a/x.c'), { bigint: true });
  t.match(got['build/src/a/x.c'], { uid: 1000, gid: 1001, mtimeNs: String(source.mtimeNs), xattrs: { 'user.berth': Buffer.from('kept').toString('hex') } });
  t.equal((got['build/src/b/run.sh'] as { mode: number }).mode & 0o7777, 0o4755, 'setuid kept after the chown');
  t.notOk(fs.existsSync(path.join(fast, 'build/src/old.c')), 'nothing of the deleted directory');
});

t.test('a file and then a directory at one destination is refused either way', async (t) => {
  const dir = t.testdir();
  const lowers = makeLowers(dir);
  const src = makeSources(dir);
  const tree = rootfsTree(src);
  const file = (await tree.resolve('src/a/x.c'))!;
  const sub = (await tree.resolve('src/b'))!;
  const items: CopyItem[] = [{ source: (await tree.resolve('src'))!, dest: 'build/src' }, { source: file, dest: 'build/src/x' }, { source: sub, dest: 'build/src/x' }];
  for (const direct of [false, true]) {
    const err = await copy(path.join(dir, `case-${direct}`), lowers, items, direct).then(() => undefined, (e: unknown) => e);
    t.match(err, { code: 'failed-precondition', message: /not a directory/ }, direct ? 'straight into the upper dir' : 'through the overlay');
  }
});
