// The berth_fs addon's contract at its edges: error shape, refusal of "." and "..", the root.

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
});
