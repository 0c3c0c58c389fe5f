// The berth_fs addon's contract at its edges: error shape, refusal of "." and "..", the root, reading by descriptor.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { berthFs } from '../../agent/native';

t.test('errors carry errno code, syscall and path', async (t) => {
  const native = berthFs();
  const dir = t.testdir({ f: 'x' });
  const root = native.openRoot(dir);
  t.teardown(() => native.close(root));
  t.throws(() => native.link(root, 'l', 'missing'), { code: 'ENOENT', syscall: 'linkat', path: 'l' });
  t.throws(() => native.createFile(root, 'f/x', 0o600), { code: 'ENOTDIR', syscall: 'openat2', path: 'f/x' });
  t.throws(() => native.openRoot(path.join(dir, 'nope')), { code: 'ENOENT', syscall: 'open' });
  for (const bad of ['..', 'a/..', './a', 'a//b', '']) {
    t.throws(() => native.mkdir(root, bad, 0o755), { code: /EINVAL|EEXIST/ }, `refuses ${JSON.stringify(bad)}`);
  }
  t.throws(() => native.remove(root, ''), { code: 'EBUSY' }, 'never removes the root');
});

t.test('metadata calls on the root itself, and on a symlink without following it', async (t) => {
  const native = berthFs();
  const dir = t.testdir({ target: 'x' });
  fs.symlinkSync('target', path.join(dir, 'link'));
  const root = native.openRoot(dir);
  t.teardown(() => native.close(root));
  native.chmod(root, '', 0o751);
  t.equal(fs.statSync(dir).mode & 0o7777, 0o751);
  native.lchown(root, 'link', 42, 43);
  t.equal(fs.lstatSync(path.join(dir, 'link')).uid, 42);
  t.equal(fs.statSync(path.join(dir, 'target')).uid, 0, 'the target keeps its owner');
  native.utimes(root, 'link', 5, 0, 7, 123, false);
  t.equal(fs.lstatSync(path.join(dir, 'link'), { bigint: true }).mtimeNs, 7000000123n);
  t.not(fs.statSync(path.join(dir, 'target')).mtimeMs, 7000, 'the target keeps its mtime');
  t.equal(native.utimes(root, 'link', 1, 0, 1, 0, true), false, 'dirOnly skips a non-directory');
  t.throws(() => native.chmod(root, 'link', 0o600), { code: /EOPNOTSUPP|ENOTSUP/ });
  native.setxattr(root, 'link', 'trusted.test', Buffer.from('on-link'));
  t.equal(native.getxattr(root, 'link', 'trusted.test')?.toString(), 'on-link');
  t.equal(native.getxattr(root, 'target', 'trusted.test'), undefined, 'not on the target');
  native.setxattr(root, 'target', 'trusted.test', Buffer.from('on-target'));
  native.removexattr(root, 'link', 'trusted.test');
  t.equal(native.getxattr(root, 'link', 'trusted.test'), undefined, 'removed from the link');
  t.equal(native.getxattr(root, 'target', 'trusted.test')?.toString(), 'on-target', 'the target keeps its own');
  native.removexattr(root, 'link', 'trusted.test');
  native.setxattr(root, '', 'trusted.test', Buffer.from('on-root'));
  native.removexattr(root, '', 'trusted.test');
  t.equal(native.getxattr(root, '', 'trusted.test'), undefined, 'removed from the root; an absent one is no error');
});

t.test('reading by descriptor: nothing followed, and a swap after the open changes nothing read', async (t) => {
  const native = berthFs();
  const outside = t.testdir({ secret: 'host secret', sub: { file: 'host file' } });
  const dir = path.join(outside, 'tree');
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sub', 'file'), 'layer file');
  fs.symlinkSync(outside, path.join(dir, 'escape'));
  fs.symlinkSync('../secret', path.join(dir, 'relative'));
  execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  const root = native.openRoot(dir);
  const open: number[] = [root];
  t.teardown(() => open.forEach((fd) => native.close(fd)));
  const hold = (fd: number) => (open.push(fd), fd);

  t.throws(() => native.openBeneath(root, 'escape/secret'), { code: 'ELOOP', syscall: 'openat2' }, 'no symlink followed on the way');
  t.throws(() => native.openBeneath(root, 'relative/x'), { code: 'ELOOP' });
  for (const bad of ['..', 'sub/../..', '']) t.throws(() => native.openBeneath(root, bad), { code: 'EINVAL' }, `refuses ${JSON.stringify(bad)}`);
  const link = hold(native.openBeneath(root, 'escape'));
  t.ok(fs.fstatSync(link).isSymbolicLink(), 'the last component is the symlink itself');
  t.equal(native.readLink(link), outside);
  t.throws(() => native.openRead(link), { code: 'EINVAL' }, 'a symlink is never opened for reading');
  t.throws(() => native.openRead(hold(native.openBeneath(root, 'fifo'))), { code: 'EINVAL' }, 'nor a fifo');
  native.setxattr(root, 'escape', 'trusted.test', Buffer.from('on-link'));
  t.equal(native.getxattr(link, '', 'trusted.test')?.toString(), 'on-link', 'xattrs of the object a descriptor holds');
  t.same(native.listxattr(link, ''), ['trusted.test']);

  // Opened, then swapped for a symlink to the outside: what is read is still the layer's own.
  const sub = hold(native.openBeneath(root, 'sub'));
  const file = hold(native.openBeneath(sub, 'file'));
  fs.renameSync(path.join(dir, 'sub'), path.join(dir, 'moved'));
  fs.symlinkSync(outside, path.join(dir, 'sub'));
  t.same(native.readDir(sub), ['file'], 'the directory opened, not what its name points at now');
  fs.rmSync(path.join(dir, 'moved', 'file'));
  fs.symlinkSync(path.join(outside, 'secret'), path.join(dir, 'moved', 'file'));
  const reader = native.openRead(file);
  t.equal(fs.readFileSync(reader, 'utf8'), 'layer file', 'the file opened, even once unlinked');
  native.close(reader);
  t.same(native.readDir(root).sort(), ['escape', 'fifo', 'moved', 'relative', 'sub']);
  t.throws(() => native.readDir(link), { code: 'ENOTDIR' });
});

t.test('mountOverlay: layer paths longer than fsconfig takes as a string (255 bytes) are passed as descriptors', async (t) => {
  const dir = t.testdir({});
  // Nested so that every path is over 255 bytes while each name stays well under NAME_MAX.
  const deep = path.join(dir, ...Array.from({ length: 4 }, (_, i) => `${'d'.repeat(70)}${i}`));
  for (const sub of ['lower1', 'lower2', 'upper', 'work', 'merged']) fs.mkdirSync(path.join(deep, sub), { recursive: true });
  fs.writeFileSync(path.join(deep, 'lower1', 'top'), 'top\n');
  fs.writeFileSync(path.join(deep, 'lower2', 'bottom'), 'bottom\n');
  const target = path.join(deep, 'merged');
  t.ok(path.join(deep, 'upper').length > 255, `the upper dir's path is ${path.join(deep, 'upper').length} bytes`);
  const fsApi = berthFs();
  fsApi.mountOverlay(target, [path.join(deep, 'lower1'), path.join(deep, 'lower2')], path.join(deep, 'upper'), path.join(deep, 'work'));
  let mounted = true;
  t.teardown(() => mounted && fsApi.unmount(target, true));
  t.equal(fs.readFileSync(path.join(target, 'top'), 'utf8'), 'top\n', 'the upper lower dir is there');
  t.equal(fs.readFileSync(path.join(target, 'bottom'), 'utf8'), 'bottom\n', 'the lower lower dir is there');
  fs.writeFileSync(path.join(target, 'new'), 'written\n');
  fsApi.unmount(target, false);
  mounted = false;
  t.equal(fs.readFileSync(path.join(deep, 'upper', 'new'), 'utf8'), 'written\n', 'writes went to the long upper dir');
  t.throws(() => fsApi.mountOverlay(target, [path.join(deep, 'missing')], path.join(deep, 'upper'), path.join(deep, 'work')), { code: 'ENOENT', message: /missing/ }, 'a missing long lower dir is named');
});

t.test('mountOverlay: a volatile overlay says so in the mount table; a default one does not', async (t) => {
  const dir = t.testdir({ lower: { f: 'below\n' }, upper: {}, work: {}, merged: {}, upper2: {}, work2: {}, merged2: {} });
  const fsApi = berthFs();
  const options = (target: string) => fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === target)?.split(' ')[3] ?? '';
  for (const [merged, upper, work, volatile] of [['merged', 'upper', 'work', true], ['merged2', 'upper2', 'work2', false]] as const) {
    const target = path.join(dir, merged);
    fsApi.mountOverlay(target, [path.join(dir, 'lower')], path.join(dir, upper), path.join(dir, work), volatile);
    let mounted = true;
    t.teardown(() => mounted && fsApi.unmount(target, true));
    // "volatile", or "fsync=volatile" since Linux 6.12.
    t.equal(options(target).split(',').some((o) => o === 'volatile' || o === 'fsync=volatile'), volatile, `${merged}: volatile ${volatile} (${options(target)})`);
    fs.writeFileSync(path.join(target, 'new'), 'written\n');
    t.equal(fs.readFileSync(path.join(target, 'f'), 'utf8'), 'below\n');
    fsApi.unmount(target, false);
    mounted = false;
    t.equal(fs.readFileSync(path.join(dir, upper, 'new'), 'utf8'), 'written\n', 'the write is in the upper dir after unmount');
  }
});
