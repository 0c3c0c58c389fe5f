// applyLayer against real files: what a good layer becomes on disk (overlay form, metadata), and
// every known breakout shape (containerd's pkg/archive breakout tests, umoci's extraction
// tests, node-tar's CVEs) either confined inside the snapshot directory or refused by name,
// with nothing outside it changed. Runs as root (devices, chown, trusted xattrs, mount).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import * as tarStream from 'tar-stream';
import { isBerthError, type ErrorCode } from '../../proto/errors';
import { berthFs } from '../../agent/native';
import { applyLayer } from '../../agent/diff/apply';
import { resolveLowerLinks } from '../../agent/diff/lower-links';
import { inheritImpliedDirs } from '../../agent/diff/implied-dirs';
import type { ApplyLimits } from '../../agent/diff/types';

const LIMITS: ApplyLimits = { maxLayerBytes: 1 << 30, maxHeaderBytes: 1 << 20 };
const MTIME = new Date(1_600_000_000_000);
/** A name no test creates on purpose: finding it anywhere outside a root means an escape. */
const MARK = `berth-escape-${process.pid}`;

// ---- tar building --------------------------------------------------------------------------

type Entry = Partial<Omit<tarStream.Header, 'pax'>> & {
  name: string;
  body?: string | Buffer;
  pax?: Record<string, string>;
};

const dir = (name: string, more: Partial<Entry> = {}): Entry => ({ name, type: 'directory', mode: 0o755, ...more });
const file = (name: string, body: string | Buffer = '', more: Partial<Entry> = {}): Entry => ({ name, body, mode: 0o644, ...more });
const symlink = (name: string, linkname: string): Entry => ({ name, type: 'symlink', linkname });
const hardlink = (name: string, linkname: string): Entry => ({ name, type: 'link', linkname });

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      pack.entry({ mtime: MTIME, ...header } as tarStream.Header, body ?? '', (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/** One raw 512-byte header, for what tar-stream's packer will not write (GNU long names, raw bytes). */
function rawHeader(name: Buffer, typeflag: string, size: number, linkname: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(512);
  name.copy(b, 0, 0, Math.min(100, name.length));
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(size.toString(8).padStart(11, '0') + '\0', 124);
  b.write(Math.floor(MTIME.getTime() / 1000).toString(8).padStart(11, '0') + '\0', 136);
  b.write('        ', 148);
  b.write(typeflag, 156);
  linkname.copy(b, 157, 0, Math.min(100, linkname.length));
  b.write('ustar  \0', 257); // GNU magic and version
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return b;
}

const pad = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

/** A GNU-format tar: names and link targets over 100 bytes go in ././@LongLink records. */
function gnuTar(entries: Array<{ name: Buffer; type: string; body?: Buffer; linkname?: Buffer }>): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const body = e.body ?? Buffer.alloc(0);
    if (e.linkname && e.linkname.length > 100) {
      const data = Buffer.concat([e.linkname, Buffer.from([0])]);
      out.push(rawHeader(Buffer.from('././@LongLink'), 'K', data.length), pad(data));
    }
    if (e.name.length > 100) {
      const data = Buffer.concat([e.name, Buffer.from([0])]);
      out.push(rawHeader(Buffer.from('././@LongLink'), 'L', data.length), pad(data));
    }
    out.push(rawHeader(e.name, e.type, body.length, e.linkname), pad(body));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

/** The tar as a stream of odd-sized chunks, so headers and bodies straddle chunk boundaries. */
function streamOf(tar: Buffer, chunk = 777): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < tar.length; i += chunk) parts.push(tar.subarray(i, i + chunk));
  return Readable.from(parts);
}

/**
 * A layer applied as a pull applies it: the tar, then its links into the layers below (`lowers`,
 * topmost first), then the directories it did not list, as the layers below have them.
 */
async function apply(root: string, entries: Entry[] | Buffer, limits = LIMITS, lowers: string[] = []) {
  const tar = Buffer.isBuffer(entries) ? entries : await tarOf(entries);
  const stats = await applyLayer(streamOf(tar), root, limits);
  await resolveLowerLinks(root, lowers, stats.deferredLinks ?? []);
  inheritImpliedDirs(root, lowers, stats.impliedDirs ?? []);
  return stats;
}

// ---- the sandbox: a root next to an "outside" that must never change -------------------------

interface Sandbox {
  base: string;
  root: string;
  outside: string;
  /** Everything outside the root is as it was, and no escape marker appeared anywhere. */
  assertUntouched(t: Test): void;
}

function fingerprint(p: string): string[] {
  const out: string[] = [];
  const walk = (at: string) => {
    const st = fs.lstatSync(at, { bigint: true });
    const content = st.isFile() ? fs.readFileSync(at).toString('base64') : st.isSymbolicLink() ? fs.readlinkSync(at) : '';
    out.push(`${path.relative(p, at)} ${st.mode} ${st.uid}:${st.gid} ${st.nlink} ${st.mtimeNs} ${content}`);
    if (st.isDirectory()) for (const name of fs.readdirSync(at).sort()) walk(path.join(at, name));
  };
  walk(p);
  return out;
}

const HOST_PATHS = ['/tmp', '/etc/passwd', '/'];
const hostState = () => HOST_PATHS.map((p) => {
  const st = fs.lstatSync(p, { bigint: true });
  // A directory's link count moves whenever anything on the host makes or removes a
  // subdirectory (other tests run alongside), so it is compared for files only; escapes into
  // these directories are caught by the marker-file checks.
  return `${p} ${st.mode} ${st.uid}:${st.gid} ${st.isDirectory() ? '-' : st.nlink} ${st.ino}`;
});

function sandbox(t: Test): Sandbox {
  // One level deeper than the fixture dir, whose parent other test files share.
  const top = t.testdir({ box: { root: {}, outside: { canary: 'canary', 'perm400': 'x' } } });
  const base = path.join(top, 'box');
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  fs.chmodSync(path.join(outside, 'perm400'), 0o400);
  const before = fingerprint(outside);
  const baseBefore = fs.readdirSync(base).sort();
  const parentBefore = fs.readdirSync(top).sort();
  const host = hostState();
  return {
    base, root, outside,
    assertUntouched(t) {
      t.same(fingerprint(outside), before, 'outside is unchanged');
      t.same(fs.readdirSync(base).sort(), baseBefore, 'nothing new next to the root');
      t.same(fs.readdirSync(top).sort(), parentBefore, 'nothing new two levels up');
      t.same(hostState(), host, 'host paths unchanged');
      for (const p of [`/${MARK}`, `/tmp/${MARK}`, `/etc/${MARK}`]) t.notOk(fs.existsSync(p), `${p} does not exist`);
    },
  };
}

const lstat = (p: string) => fs.lstatSync(p, { bigint: true });
const read = (p: string) => fs.readFileSync(p, 'utf8');
const sameInode = (a: string, b: string) => lstat(a).ino === lstat(b).ino && lstat(a).dev === lstat(b).dev;

async function rejectsWith(t: Test, p: Promise<unknown>, code: ErrorCode, message: RegExp) {
  try {
    await p;
    t.fail(`expected a ${code} error matching ${message}`);
  } catch (err) {
    t.ok(isBerthError(err, code), `a BerthError ${code}: ${(err as Error).message}`);
    t.match((err as Error).message, message);
  }
}

// ---- breakouts ------------------------------------------------------------------------------

interface Breakout {
  name: string;
  /** Made inside the root before the layer (containerd's "apply" step). */
  pre?: (root: string) => void;
  entries: Entry[] | ((box: Sandbox) => Entry[]);
  /** Expected refusal; the entry must be named in the message. */
  error?: [ErrorCode, RegExp];
  /** Where the entries landed, inside the root. */
  check?: (t: Test, root: string) => void;
}

const breakouts: Breakout[] = [
  {
    name: '../ names are confined to the root',
    entries: [file('../outside/canary', 'pwned'), file(`../../${MARK}`, 'x'), dir(`../../../${MARK}-dir/`)],
    check: (t, root) => {
      t.equal(read(path.join(root, 'outside/canary')), 'pwned');
      t.ok(fs.existsSync(path.join(root, MARK)));
      t.ok(lstat(path.join(root, `${MARK}-dir`)).isDirectory());
    },
  },
  {
    name: 'absolute names are confined to the root',
    entries: [file(`/tmp/${MARK}`, 'x'), file(`/${MARK}`, 'y'), file(`/etc/${MARK}`, 'z')],
    check: (t, root) => {
      t.equal(read(path.join(root, 'tmp', MARK)), 'x');
      t.equal(read(path.join(root, MARK)), 'y');
      t.equal(read(path.join(root, 'etc', MARK)), 'z');
    },
  },
  {
    name: 'a .. in the middle of a name is cleaned lexically',
    entries: [file(`a/../../../${MARK}`, 'x'), file(`./b/./../../outside/./canary`, 'y')],
    check: (t, root) => {
      t.equal(read(path.join(root, MARK)), 'x');
      t.equal(read(path.join(root, 'outside/canary')), 'y');
    },
  },
  {
    name: 'symlink to / then a write through it (same layer)',
    entries: [dir('tmp/'), symlink('escape', '/'), file(`escape/tmp/${MARK}`, 'x'), file(`escape/${MARK}`, 'y')],
    check: (t, root) => {
      t.equal(fs.readlinkSync(path.join(root, 'escape')), '/', 'the symlink is kept verbatim');
      t.equal(read(path.join(root, 'tmp', MARK)), 'x');
      t.equal(read(path.join(root, MARK)), 'y');
    },
  },
  {
    name: 'symlink to .. then writes through it',
    entries: [
      symlink('up', '..'), file('up/outside/canary', 'pwned'),
      symlink('deep', '../../../../../../../..'), file(`deep/${MARK}`, 'x'),
    ],
    check: (t, root) => {
      t.equal(read(path.join(root, 'outside/canary')), 'pwned');
      t.equal(read(path.join(root, MARK)), 'x');
    },
  },
  {
    name: 'symlink to a real sibling directory, written through: resolves in the root',
    entries: [dir('outside/'), symlink('out', '../outside'), file('out/canary', 'pwned')],
    check: (t, root) => t.equal(read(path.join(root, 'outside/canary')), 'pwned'),
  },
  {
    // containerd resolves the parent path in the root, a missing target as plain directories,
    // and makes them (continuity's RootPath, then mkparent).
    name: 'write through a dangling in-root symlink makes its target, in the root',
    entries: [symlink('out', '../outside'), file('out/canary', 'pwned')],
    check: (t, root) => {
      t.equal(fs.readlinkSync(path.join(root, 'out')), '../outside', 'the symlink stays');
      t.equal(read(path.join(root, 'outside/canary')), 'pwned', 'written where the link points, inside the root');
      t.equal(Number(lstat(path.join(root, 'outside')).mode) & 0o7777, 0o755, 'the target made 0755, as containerd makes it');
    },
  },
  {
    name: 'dangling links in a chain, absolute and relative, nested under a missing directory',
    entries: [
      symlink('lib', '/usr/lib64'), file('lib/x/y.so', 'y'),
      symlink('a', 'b'), symlink('b', 'c/d'), file('a/f', 'f'),
      dir('sub/'), symlink('sub/up', '../top/dir'), file('sub/up/g', 'g'),
    ],
    check: (t, root) => {
      t.equal(read(path.join(root, 'usr/lib64/x/y.so')), 'y', 'an absolute target, under missing directories');
      t.equal(read(path.join(root, 'c/d/f')), 'f', 'a link to a dangling link');
      t.equal(read(path.join(root, 'top/dir/g')), 'g', 'a relative target goes from the link\'s own directory');
      t.ok(lstat(path.join(root, 'a')).isSymbolicLink() && lstat(path.join(root, 'b')).isSymbolicLink(), 'the links stay links');
    },
  },
  {
    name: 'a dangling link out of the root makes its target in the root',
    entries: [symlink('esc', `../../../../../tmp/${MARK}`), file('esc/f', 'x')],
    check: (t, root) => t.equal(read(path.join(root, 'tmp', MARK, 'f')), 'x'),
  },
  {
    name: 'symlink chains (absolute, relative, up-and-out) stay in the root',
    entries: [
      dir('etc/'), dir('dummy/'), dir('tmp/'),
      symlink('dummy/etc', '/etc'), symlink('localetc', './dummy/etc'), file('localetc/unbroken', 'unbroken'),
      symlink('l1', 'l2'), symlink('l2', '../../..'), symlink('l3', 'l1/tmp'), file(`l3/${MARK}`, 'x'),
      symlink('updown', '/dummy/../etc'), file('updown/updown', 'u'),
    ],
    check: (t, root) => {
      t.equal(read(path.join(root, 'etc/unbroken')), 'unbroken');
      t.equal(read(path.join(root, 'tmp', MARK)), 'x');
      t.equal(read(path.join(root, 'etc/updown')), 'u');
    },
  },
  {
    name: 'symlink loop is refused by name',
    entries: [symlink('loop1', 'loop2'), symlink('loop2', 'loop1'), file('loop1/x', 'x')],
    error: ['invalid-argument', /entry "loop1\/x": ELOOP/],
  },
  {
    name: 'symlink writes an empty file over an in-root target, not a host one',
    entries: [dir('etc/'), file('etc/emptied', 'notempty'), symlink('localetc', '/etc'), file('/localetc/emptied', '')],
    check: (t, root) => t.equal(read(path.join(root, 'etc/emptied')), ''),
  },
  {
    name: 'a directory replaced by a symlink, then written through',
    entries: [dir('tmp/'), dir('d/'), file('d/f', 'f'), symlink('d', '/tmp'), file(`d/${MARK}`, 'x')],
    check: (t, root) => {
      t.ok(lstat(path.join(root, 'd')).isSymbolicLink(), 'd is now the symlink');
      t.equal(read(path.join(root, 'tmp', MARK)), 'x');
    },
  },
  {
    name: 'a regular file replaces a symlink pointing outside (final component never followed)',
    entries: [
      symlink('f', '../outside/canary'), file('f', 'pwned'),
      symlink('g', '/etc/passwd'), { name: 'g', type: 'fifo', mode: 0o644 },
      symlink('h', '/tmp'), dir('h/', { mode: 0o777 }),
    ],
    check: (t, root) => {
      t.equal(read(path.join(root, 'f')), 'pwned');
      t.ok(lstat(path.join(root, 'g')).isFIFO());
      t.ok(lstat(path.join(root, 'h')).isDirectory());
      t.equal(Number(lstat(path.join(root, 'h')).mode) & 0o7777, 0o777);
    },
  },
  {
    name: 'symlink to / planted by an earlier layer, overridden by a directory',
    pre: (root) => {
      fs.mkdirSync(path.join(root, 'etc'));
      fs.writeFileSync(path.join(root, 'etc/passwd'), 'inside');
      fs.symlinkSync('/etc', path.join(root, 'localetc'));
    },
    entries: [dir('/localetc/'), hardlink('/localetc/localpasswd', '/etc/passwd')],
    check: (t, root) => {
      t.ok(lstat(path.join(root, 'localetc')).isDirectory());
      t.ok(sameInode(path.join(root, 'localetc/localpasswd'), path.join(root, 'etc/passwd')));
    },
  },
  {
    name: 'a directory from an earlier layer overridden by a symlink, then linked through',
    pre: (root) => {
      fs.mkdirSync(path.join(root, 'etc'));
      fs.writeFileSync(path.join(root, 'etc/passwd'), 'inside');
      fs.mkdirSync(path.join(root, 'localetc'));
    },
    entries: [symlink('localetc', '../../etc'), hardlink('/localetc/localpasswd', '/etc/passwd')],
    check: (t, root) => t.ok(sameInode(path.join(root, 'etc/localpasswd'), path.join(root, 'etc/passwd'))),
  },
  {
    name: 'hard links with ../ and absolute targets resolve in the root',
    entries: [
      dir('etc/', { mode: 0o770 }), file('/etc/passwd', 'inside'),
      hardlink('rel', '../../../../../etc/passwd'), hardlink('abs', '/etc/passwd'),
      dir('breakouts/'), symlink('breakouts/d1', '../../etc'), hardlink('breakouts/mypasswd', '/breakouts/d1/passwd'),
      dir('downandout/'), symlink('breakouts/d2', '../downandout/../../etc'), hardlink('breakouts/p2', 'breakouts/d2/passwd'),
      dir('upandout/'), symlink('localetc', 'upandout/../../../etc'), hardlink('p3', '/localetc/passwd'),
    ],
    check: (t, root) => {
      const passwd = path.join(root, 'etc/passwd');
      for (const p of ['rel', 'abs', 'breakouts/mypasswd', 'breakouts/p2', 'p3']) {
        t.ok(sameInode(path.join(root, p), passwd), `${p} is etc/passwd`);
      }
    },
  },
  {
    // containerd cleans symlink targets lexically; the kernel needs upandout/ to exist.
    name: 'hard link through a symlink via a missing directory is refused by name',
    entries: [dir('etc/'), file('etc/passwd', 'x'), symlink('localetc', 'upandout/../../../etc'), hardlink('p', '/localetc/passwd')],
    error: ['invalid-argument', /hard link "p": target "localetc\/passwd" does not exist in the layer or the layers below it/],
  },
  {
    name: 'hard link to a file outside the root is refused: the target is not in the layer',
    entries: [hardlink('stolen', '../outside/canary')],
    error: ['invalid-argument', /hard link "stolen": target "outside\/canary" does not exist in the layer or the layers below it/],
  },
  {
    name: 'hard link to a host file by absolute name is refused',
    entries: [hardlink('shadow', '/etc/passwd')],
    error: ['invalid-argument', /hard link "shadow": target "etc\/passwd" does not exist in the layer or the layers below it/],
  },
  {
    name: 'hard link through a symlink to the host root is refused',
    entries: [symlink('hostroot', '/'), hardlink('p', 'hostroot/etc/passwd')],
    error: ['invalid-argument', /hard link "p": target .* does not exist in the layer or the layers below it/],
  },
  {
    name: 'hard link to a symlink pointing outside links the symlink itself',
    entries: [dir('etc/'), file('/etc/passwd', 'inside'), symlink('passwdlink', '/etc/passwd'), hardlink('localpasswd', '/passwdlink')],
    check: (t, root) => {
      t.ok(lstat(path.join(root, 'localpasswd')).isSymbolicLink());
      t.ok(sameInode(path.join(root, 'localpasswd'), path.join(root, 'passwdlink')));
      t.equal(fs.readlinkSync(path.join(root, 'localpasswd')), '/etc/passwd');
    },
  },
  {
    name: 'hard link to a symlink created before its target (containerd HardlinkSymlinkBeforeCreateTarget)',
    entries: [dir('etc/'), symlink('localpasswd', '/etc/passwd'), hardlink('dup', 'localpasswd'), file('/etc/passwd', 'after')],
    check: (t, root) => {
      t.ok(sameInode(path.join(root, 'dup'), path.join(root, 'localpasswd')));
      t.equal(read(path.join(root, 'etc/passwd')), 'after');
    },
  },
  {
    name: 'symlink named like a host path, hard-linked: host file mode untouched (HardlinkSymlinkChmod)',
    entries: (box) => {
      const hostFile = path.join(box.outside, 'perm400');
      return [symlink(hostFile, hostFile), hardlink('sketchylink', hostFile)];
    },
    check: (t, root) => t.ok(lstat(path.join(root, 'sketchylink')).isSymbolicLink()),
  },
  {
    name: 'hard link to a directory is refused by name',
    entries: [dir('d/'), hardlink('l', 'd')],
    error: ['invalid-argument', /entry "l": EPERM/],
  },
  {
    name: 'a hard link placed through a symlinked parent lands in the root',
    entries: [dir('tmp/'), file('x', 'x'), symlink('o', '/tmp'), hardlink(`o/${MARK}`, 'x')],
    check: (t, root) => t.ok(sameInode(path.join(root, 'tmp', MARK), path.join(root, 'x'))),
  },
  {
    name: 'symlinks named "..", "" and "/" are skipped (they name the root)',
    entries: [dir('etc/'), file('etc/passwd', 'inside'), symlink('..', '/etc/'), symlink('/', '/etc/'), symlink('localetc/sub/..', '/etc/'), hardlink('/localetc/localpasswd', '/etc/passwd')],
    check: (t, root) => {
      t.ok(lstat(root).isDirectory(), 'the root is still a directory');
      t.ok(sameInode(path.join(root, 'etc/localpasswd'), path.join(root, 'etc/passwd')));
    },
  },
  {
    name: 'whiteouts with .. are confined',
    entries: [file('../.wh.outside'), file(`../../.wh.${MARK}`), file('a/../../.wh.canary')],
    check: (t, root) => {
      for (const name of ['outside', MARK, 'canary']) {
        const st = lstat(path.join(root, name));
        t.ok(st.isCharacterDevice() && st.rdev === 0n, `${name} is a whiteout inside the root`);
      }
    },
  },
  {
    name: '.wh.. (whiteout of the root) is refused',
    entries: [file('.wh..')],
    error: ['invalid-argument', /entry "\.wh\.\.": whiteout names no file/],
  },
  {
    name: '.wh... (whiteout of ..) is refused',
    entries: [file('.wh...')],
    error: ['invalid-argument', /entry "\.wh\.\.\.": whiteout names no file/],
  },
  {
    name: 'etc/.wh.. and etc/.wh... are refused',
    entries: [dir('etc/'), file('etc/.wh...')],
    error: ['invalid-argument', /entry "etc\/\.wh\.\.\.": whiteout names no file/],
  },
  {
    name: 'whiteout of a symlink removes the symlink, not its target',
    pre: (root) => {
      fs.mkdirSync(path.join(root, 'etc'));
      fs.writeFileSync(path.join(root, 'etc/passwd'), 'all users');
      fs.symlinkSync('/etc', path.join(root, 'localetc'));
      fs.symlinkSync('../outside', path.join(root, 'out'));
    },
    entries: [file('.wh.localetc'), file('.wh.out')],
    check: (t, root) => {
      t.equal(read(path.join(root, 'etc/passwd')), 'all users');
      t.ok(lstat(path.join(root, 'localetc')).isCharacterDevice());
      t.ok(lstat(path.join(root, 'out')).isCharacterDevice());
    },
  },
  {
    name: 'whiteout through a symlinked parent lands in the root',
    entries: [dir('etc/'), file('etc/whitedout', 'x'), symlink('localetc', '/etc'), file('localetc/.wh.whitedout')],
    check: (t, root) => t.ok(lstat(path.join(root, 'etc/whitedout')).isCharacterDevice()),
  },
  {
    name: 'whiteout under a dead symlink: made in the root where the link points, as containerd does',
    entries: [symlink('localetc', '/dne'), file('localetc/.wh.etc')],
    check: (t, root) => {
      t.ok(lstat(path.join(root, 'localetc')).isSymbolicLink(), 'the link stays');
      t.ok(lstat(path.join(root, 'dne/etc')).isCharacterDevice(), 'the whiteout is in the in-root target');
    },
  },
  {
    name: 'opaque marker under a symlink to outside makes an in-root directory',
    entries: [symlink('o', '../outside'), file('o/.wh..wh..opq')],
    check: (t, root) => {
      t.ok(lstat(path.join(root, 'o')).isDirectory());
      t.equal(getxattr(root, 'o', 'trusted.overlay.opaque'), 'y');
    },
  },
  {
    name: 'PAX path and GNU long names with .. are confined',
    entries: [file('x', 'pax', { pax: { path: `../../${'d/'.repeat(60)}${MARK}` } })],
    check: (t, root) => t.equal(read(path.join(root, 'd/'.repeat(60) + MARK)), 'pax'),
  },
  {
    name: 'planted trusted.overlay xattrs are dropped (no redirects into other layers)',
    entries: [dir('d/', { pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc', 'SCHILY.xattr.trusted.overlay.opaque': 'y' } })],
    check: (t, root) => {
      t.equal(getxattr(root, 'd', 'trusted.overlay.redirect'), undefined);
      t.equal(getxattr(root, 'd', 'trusted.overlay.opaque'), undefined);
    },
  },
];

function getxattr(root: string, rel: string, name: string): string | undefined {
  const native = berthFs();
  const fd = native.openRoot(root);
  try {
    return native.getxattr(fd, rel, name)?.toString();
  } finally {
    native.close(fd);
  }
}

t.test('breakouts', async (t) => {
  for (const b of breakouts) {
    await t.test(b.name, async (t) => {
      const box = sandbox(t);
      b.pre?.(box.root);
      const entries = typeof b.entries === 'function' ? b.entries(box) : b.entries;
      if (b.error) await rejectsWith(t, apply(box.root, entries), b.error[0], b.error[1]);
      else await apply(box.root, entries);
      b.check?.(t, box.root);
      box.assertUntouched(t);
    });
  }
});

t.test('GNU long names with .. are confined, raw bytes survive', async (t) => {
  const box = sandbox(t);
  const long = Buffer.from(`../../${'long-directory-name/'.repeat(8)}${MARK}`);
  const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in Latin-1: not UTF-8
  const target = Buffer.from(`/${'t'.repeat(150)}`);
  await apply(box.root, gnuTar([
    { name: long, type: '0', body: Buffer.from('gnu') },
    { name: latin1, type: '0', body: Buffer.from('latin1') },
    { name: Buffer.from('longlink'), type: '2', linkname: target },
  ]));
  t.equal(read(path.join(box.root, 'long-directory-name/'.repeat(8) + MARK)), 'gnu');
  const names = fs.readdirSync(box.root, { encoding: 'buffer' });
  t.ok(names.some((n) => n.equals(latin1)), 'the non-UTF-8 name is kept byte for byte');
  t.equal(fs.readlinkSync(path.join(box.root, 'longlink')), target.toString());
  box.assertUntouched(t);
});

// ---- good layers ----------------------------------------------------------------------------

t.test('modes, owners, times and xattrs', async (t) => {
  const box = sandbox(t);
  const stats = await apply(box.root, [
    dir('d/', { mode: 0o1777, uid: 10, gid: 20, mtime: new Date(1_000_000_000_000) }),
    file('d/suid', '#!/bin/sh\n', { mode: 0o4755, uid: 1234, gid: 5678 }),
    file('d/sgid', 'x', { mode: 0o2711 }),
    file('d/ns', 'ns', { pax: { mtime: '1600000000.123456789', atime: '1700000000.5', 'SCHILY.xattr.user.note': 'hello' } }),
    file('d/bigid', 'x', { pax: { uid: '3000000', gid: '3000001' } }),
    dir('x/', { mtime: new Date(1_100_000_000_000), pax: { 'SCHILY.xattr.user.dir': 'yes' } }),
    dir('x/y/', { mtime: new Date(1_200_000_000_000) }),
    file('x/y/z', 'z'),
    symlink('x/link', '/nowhere'),
  ]);
  t.same(stats, { bytes: 10 + 1 + 2 + 1 + 1, entries: 9 });
  const st = (p: string) => lstat(path.join(box.root, p));
  t.equal(Number(st('d').mode) & 0o7777, 0o1777, 'sticky dir');
  t.equal(Number(st('d/suid').mode) & 0o7777, 0o4755, 'setuid survives chown');
  t.equal(Number(st('d/sgid').mode) & 0o7777, 0o2711, 'setgid');
  t.same([st('d/suid').uid, st('d/suid').gid], [1234n, 5678n]);
  t.same([st('d').uid, st('d').gid], [10n, 20n]);
  t.same([st('d/bigid').uid, st('d/bigid').gid], [3000000n, 3000001n], 'PAX uid/gid');
  t.equal(st('d/ns').mtimeNs, 1600000000123456789n, 'nanosecond PAX mtime');
  t.equal(st('d/ns').atimeNs, 1700000000500000000n, 'PAX atime');
  t.equal(st('d/suid').mtimeNs, BigInt(MTIME.getTime()) * 1000000n);
  t.equal(st('d').mtimeNs, 1000000000000000000n, 'dir mtime set after its children');
  t.equal(st('x').mtimeNs, 1100000000000000000n);
  t.equal(st('x/y').mtimeNs, 1200000000000000000n);
  t.equal(getxattr(box.root, 'd/ns', 'user.note'), 'hello');
  t.equal(getxattr(box.root, 'x', 'user.dir'), 'yes');
  t.equal(fs.readlinkSync(path.join(box.root, 'x/link')), '/nowhere');
  box.assertUntouched(t);
});

t.test('hard links, devices, fifos', async (t) => {
  const box = sandbox(t);
  await apply(box.root, [
    file('a', 'shared', { mode: 0o600 }),
    hardlink('b', 'a'),
    hardlink('sub/c', '/a'),
    { name: 'null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
    { name: 'loop0', type: 'block-device', mode: 0o660, devmajor: 7, devminor: 0 },
    { name: 'fifo', type: 'fifo', mode: 0o620 },
  ]);
  const p = (n: string) => path.join(box.root, n);
  t.ok(sameInode(p('a'), p('b')) && sameInode(p('a'), p('sub/c')));
  t.equal(lstat(p('a')).nlink, 3n);
  t.ok(lstat(p('null')).isCharacterDevice());
  t.equal(lstat(p('null')).rdev, BigInt((1 << 8) | 3));
  t.equal(Number(lstat(p('null')).mode) & 0o7777, 0o666);
  t.ok(lstat(p('loop0')).isBlockDevice());
  t.equal(lstat(p('loop0')).rdev, BigInt(7 << 8));
  t.ok(lstat(p('fifo')).isFIFO());
  t.equal(Number(lstat(p('fifo')).mode) & 0o7777, 0o620);
  box.assertUntouched(t);
});

t.test('whiteouts and replacement', async (t) => {
  const box = sandbox(t);
  await apply(box.root, [
    dir('gone/'), file('gone/inner', 'x'),
    file('.wh.gone'),                            // a whiteout replaces a directory tree
    file('.wh.file'),                            // of something in a lower layer
    file('.wh.back'), file('back', 'again'),    // a later entry replaces the whiteout
    dir('opq/'), file('opq/.wh..wh..opq'), file('opq/new', 'n'),
    file('implicit/.wh..wh..opq'),               // opaque dir not listed itself: created
    file('.wh..wh.plnk/123'),                    // aufs metadata: ignored
    file('.wh..wh.aufs'),
    dir('d/'), file('d/x', 'x'), file('d', 'now a file'),
    file('f', 'f'), dir('f/'), file('f/y', 'y'),
    dir('keep/', { mode: 0o700 }), file('keep/a', 'a'), dir('keep/', { mode: 0o755 }),
  ]);
  const p = (n: string) => path.join(box.root, n);
  for (const n of ['gone', 'file']) {
    t.ok(lstat(p(n)).isCharacterDevice() && lstat(p(n)).rdev === 0n, `${n} is a 0/0 whiteout`);
  }
  t.equal(read(p('back')), 'again');
  t.equal(getxattr(box.root, 'opq', 'trusted.overlay.opaque'), 'y');
  t.equal(getxattr(box.root, 'implicit', 'trusted.overlay.opaque'), 'y');
  t.equal(read(p('opq/new')), 'n');
  t.notOk(fs.existsSync(p('.wh..wh.aufs')));
  t.notOk(fs.existsSync(p('.wh..wh.plnk')));
  t.notOk(fs.existsSync(p('opq/.wh..wh..opq')));
  t.equal(read(p('d')), 'now a file');
  t.equal(read(p('f/y')), 'y');
  t.equal(read(p('keep/a')), 'a', 'a directory over a directory keeps its children');
  t.equal(Number(lstat(p('keep')).mode) & 0o7777, 0o755, 'and takes the new metadata');
  box.assertUntouched(t);
});

t.test('long paths (PAX) and long link targets', async (t) => {
  const box = sandbox(t);
  const deep = `${'abcdefghij/'.repeat(30)}file`;
  const target = `/${'x'.repeat(300)}`;
  await apply(box.root, [file(deep, 'deep'), symlink('s', target), hardlink('h', deep), file('ü-utf8', 'u')]);
  t.equal(read(path.join(box.root, deep)), 'deep');
  t.equal(fs.readlinkSync(path.join(box.root, 's')), target);
  t.ok(sameInode(path.join(box.root, 'h'), path.join(box.root, deep)));
  t.equal(read(path.join(box.root, 'ü-utf8')), 'u');
  box.assertUntouched(t);
});

// ---- limits and broken input ----------------------------------------------------------------

t.test('decompression bomb: declared size past the limit', async (t) => {
  const box = sandbox(t);
  const limits = { ...LIMITS, maxLayerBytes: 1 << 20 };
  await rejectsWith(t, apply(box.root, [file('big', Buffer.alloc(2 << 20))], limits),
    'resource-exhausted', /1048576 bytes \(maxLayerBytes\).*decompression bomb/);
  t.notOk(fs.existsSync(path.join(box.root, 'big')), 'refused before writing');
  box.assertUntouched(t);
});

t.test('decompression bomb: many entries past the limit', async (t) => {
  const box = sandbox(t);
  const many = Array.from({ length: 400 }, (_, i) => file(`f${i}`, ''));
  await rejectsWith(t, apply(box.root, many, { ...LIMITS, maxLayerBytes: 100 * 1024 }),
    'resource-exhausted', /102400 bytes \(maxLayerBytes\)/);
  box.assertUntouched(t);
});

t.test('header limit: oversized PAX record and long name', async (t) => {
  const box = sandbox(t);
  const limits = { ...LIMITS, maxHeaderBytes: 8192 };
  await rejectsWith(t, apply(box.root, [file('x', 'x', { pax: { 'SCHILY.xattr.user.big': 'v'.repeat(20000) } })], limits),
    'resource-exhausted', /tar header of \d+ bytes \(PAX header\) exceeds the limit of 8192 bytes \(maxHeaderBytes\)/);
  await rejectsWith(t, apply(box.root, gnuTar([{ name: Buffer.from('n/'.repeat(5000)), type: '0' }]), limits),
    'resource-exhausted', /\(GNU long name\) exceeds the limit of 8192 bytes \(maxHeaderBytes\)/);
  // A record far past the limit is refused from its declared size, before any of it is read.
  await rejectsWith(t, apply(box.root, [file('y', 'y', { pax: { comment: 'c'.repeat(5 << 20) } })]),
    'resource-exhausted', /exceeds the limit of 1048576 bytes \(maxHeaderBytes\)/);
  box.assertUntouched(t);
});

t.test('binary xattr values (file capabilities) are kept byte for byte', async (t) => {
  const box = sandbox(t);
  // vfs_cap_data v2 with CAP_SETUID (bit 7) effective: bytes >= 0x80 that are not UTF-8.
  const cap = Buffer.alloc(20);
  cap.writeUInt32LE(0x02000001, 0);
  cap.writeUInt32LE(1 << 7, 4);
  const opaque = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3]);
  const paxRecord = (key: string, value: Buffer) => {
    const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    return Buffer.concat([Buffer.from(String(len)), body]);
  };
  const pax = Buffer.concat([paxRecord('SCHILY.xattr.security.capability', cap), paxRecord('SCHILY.xattr.user.bin', opaque)]);
  const body = Buffer.from('#!/bin/sh\n');
  const tar = gnuTar([{ name: Buffer.from('PaxHeaders/ping'), type: 'x', body: pax }, { name: Buffer.from('ping'), type: '0', body }]);
  await applyLayer(streamOf(tar), box.root, LIMITS);
  const native = berthFs();
  const fd = native.openRoot(box.root);
  t.teardown(() => native.close(fd));
  t.same(native.getxattr(fd, 'ping', 'security.capability'), cap, 'the capability set as written');
  t.same(native.getxattr(fd, 'ping', 'user.bin'), opaque, 'non-UTF-8 bytes survive');
  box.assertUntouched(t);
});

t.test('GNU sparse files (tar --sparse: old GNU, PAX 0.1 and 1.0) unpack to the same bytes, holes kept', async (t) => {
  const top = t.testdir({ src: {} });
  const src = path.join(top, 'src');
  // 3 MiB with 3 data islands, the last byte a hole: every fragment shape GNU tar writes.
  const sparse = path.join(src, 'disk.img');
  const fd = fs.openSync(sparse, 'w');
  fs.writeSync(fd, Buffer.alloc(5000, 'a'), 0, 5000, 0);
  fs.writeSync(fd, Buffer.alloc(70000, 'b'), 0, 70000, 1 << 20);
  fs.writeSync(fd, Buffer.from('tail'), 0, 4, (2 << 20) + 123);
  fs.ftruncateSync(fd, 3 << 20);
  fs.closeSync(fd);
  fs.writeFileSync(path.join(src, 'plain.txt'), 'after the sparse file\n');
  const digest = (p: string) => createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  for (const [label, flags] of [['old GNU', ['--format=gnu']], ['PAX 1.0', ['--format=posix']], ['PAX 0.1', ['--format=posix', '--sparse-version=0.1']]] as const) {
    await t.test(label, async (t) => {
      const tar = execFileSync('tar', ['--sparse', ...flags, '-C', src, '-cf', '-', 'disk.img', 'plain.txt'], { maxBuffer: 16 << 20 });
      t.ok(tar.length < 1 << 20, `the tar stores the data only (${tar.length} bytes)`);
      const root = path.join(top, label.replace(/\W/g, '-'));
      fs.mkdirSync(root);
      await apply(root, tar);
      const out = path.join(root, 'disk.img');
      t.equal(fs.statSync(out).size, 3 << 20, 'its real size');
      t.equal(digest(out), digest(sparse), 'the same bytes as the file tar read');
      t.ok(fs.statSync(out).blocks * 512 < 1 << 20, `the holes stay holes (${fs.statSync(out).blocks * 512} bytes on disk)`);
      t.equal(fs.readFileSync(path.join(root, 'plain.txt'), 'utf8'), 'after the sparse file\n', 'the entry after it is read in step');
    });
  }

  // Raw PAX headers, for what tar-stream will not write: repeated keys (0.0), global records.
  const paxHeader = (type: 'x' | 'g', records: Array<[string, string]>): Buffer => {
    const body = Buffer.concat(records.map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      let len = rest.length + 1;
      while (String(len).length + rest.length !== len) len++;
      return Buffer.from(`${len}${rest}`);
    }));
    return Buffer.concat([rawHeader(Buffer.from('PaxHeaders/f'), type, body.length), pad(body)]);
  };
  const data = (name: string, body: string) => Buffer.concat([rawHeader(Buffer.from(name), '0', body.length), pad(Buffer.from(body))]);
  const end = Buffer.alloc(1024);

  await t.test('PAX 0.0 (repeated offset and numbytes records) as Go reads it', async (t) => {
    const root = path.join(top, 'pax00');
    fs.mkdirSync(root);
    await apply(root, Buffer.concat([
      paxHeader('x', [['GNU.sparse.size', '10'], ['GNU.sparse.numblocks', '2'], ['GNU.sparse.offset', '0'], ['GNU.sparse.numbytes', '2'], ['GNU.sparse.offset', '8'], ['GNU.sparse.numbytes', '2'], ['GNU.sparse.name', 'f']]),
      data('GNUSparseFile.0/f', 'abyz'), end,
    ]));
    t.same(fs.readFileSync(path.join(root, 'f')), Buffer.from('ab\0\0\0\0\0\0yz'));
  });

  await t.test('sparse records of a global header, or of an unknown version, make no sparse file (as in Go)', async (t) => {
    const root = path.join(top, 'not-sparse');
    fs.mkdirSync(root);
    await apply(root, Buffer.concat([
      paxHeader('g', [['GNU.sparse.major', '0'], ['GNU.sparse.minor', '1'], ['GNU.sparse.map', '0,4'], ['GNU.sparse.numblocks', '1'], ['GNU.sparse.size', '4'], ['GNU.sparse.name', 'bin/sh']]),
      data('harmless', 'text'),
      paxHeader('x', [['GNU.sparse.major', '2'], ['GNU.sparse.minor', '0']]),
      data('later', 'more'), end,
    ]));
    t.same(fs.readdirSync(root).sort(), ['harmless', 'later'], 'written under their own names');
    t.equal(fs.readFileSync(path.join(root, 'harmless'), 'utf8'), 'text');
  });

  await t.test('bad maps are refused by name', async (t) => {
    const pax = (map: string, size = '1000', numblocks = String(Math.floor(map.split(',').length / 2))) => ({ 'GNU.sparse.major': '0', 'GNU.sparse.minor': '1', 'GNU.sparse.name': 'f', 'GNU.sparse.size': size, 'GNU.sparse.numblocks': numblocks, 'GNU.sparse.map': map });
    const cases: Array<[string, Entry | Buffer, ErrorCode, RegExp]> = [
      ['out of order', file('GNUSparseFile.0/f', 'abcdef', { pax: pax('500,3,0,3') }), 'data-loss', /sparse file "f": its map has a fragment at 0 \(3 bytes\) out of order or past its size 1000/],
      ['past the size', file('GNUSparseFile.0/f', 'abcdef', { pax: pax('0,3,999,3') }), 'data-loss', /fragment at 999 \(3 bytes\) out of order or past its size 1000/],
      ['fewer bytes than stored', file('GNUSparseFile.0/f', 'abcdef', { pax: pax('0,3') }), 'data-loss', /its map covers 3 bytes, the tar stores 6/],
      ['a map that is not numblocks pairs', file('GNUSparseFile.0/f', 'abcdef', { pax: pax('0,3,5', '1000', '2') }), 'data-loss', /GNU.sparse.map has 3 numbers where GNU.sparse.numblocks says 2 pairs/],
      ['a size out of range', file('GNUSparseFile.0/f', 'abc', { pax: pax('0,3', '9'.repeat(400)) }), 'data-loss', /sparse file "f": a size out of range/],
      ['a real size past the layer limit', file('GNUSparseFile.0/f', 'abc', { pax: pax('0,3', String(LIMITS.maxLayerBytes + 1)) }), 'resource-exhausted', /refusing a likely decompression bomb/],
      ['sparse records on a symlink', Buffer.concat([paxHeader('x', [['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0']]), rawHeader(Buffer.from('l'), '2', 0, Buffer.from('target')), end]), 'data-loss', /sparse records on "l", a symlink/],
      ['a 1.0 map longer than the data', Buffer.concat([paxHeader('x', [['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0'], ['GNU.sparse.realsize', '10']]), data('f', ''), data('next', 'x'.repeat(600)), end]), 'data-loss', /its map runs past its data/],
      ['an old GNU sparse entry without GNU magic', (() => {
        const h = rawHeader(Buffer.from('s'), 'S', 0);
        h.write('ustar\u000000', 257, 'latin1');
        let sum = 0;
        h.write('        ', 148);
        for (const byte of h) sum += byte;
        h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
        return Buffer.concat([h, end]);
      })(), 'data-loss', /a sparse entry \(type S\) "s" without GNU tar's header/],
    ];
    for (const [what, entry, code, message] of cases) {
      const root = path.join(top, `bad-${what.replace(/\W/g, '-')}`);
      fs.mkdirSync(root);
      await t.test(what, async (t) => rejectsWith(t, apply(root, Buffer.isBuffer(entry) ? entry : [entry]), code, message));
    }
  });
});

t.test('truncated and corrupt tars are data-loss', async (t) => {
  const box = sandbox(t);
  const tar = await tarOf([file('a', 'x'.repeat(5000))]);
  await rejectsWith(t, apply(box.root, tar.subarray(0, 2000)), 'data-loss', /unreadable/);
  const corrupt = Buffer.from(tar);
  corrupt[148] ^= 0x1; // checksum
  await rejectsWith(t, apply(box.root, corrupt), 'data-loss', /unreadable/);
  box.assertUntouched(t);
});

t.test('a failing source stream aborts the apply', async (t) => {
  const box = sandbox(t);
  const tar = await tarOf([file('a', 'x'.repeat(5000))]);
  const source = new Readable({
    read() {
      this.push(tar.subarray(0, 1024));
      this.destroy(new Error('connection reset'));
    },
  });
  await rejectsWith(t, applyLayer(source, box.root, LIMITS), 'data-loss', /connection reset/);
  box.assertUntouched(t);
});

// ---- stacked in a real overlay --------------------------------------------------------------

t.test('two applied layers stacked in an overlay mount', async (t) => {
  // Registered before t.testdir so that it runs before the fixture is removed.
  let merged = '';
  t.teardown(() => {
    if (merged) execFileSync('umount', [merged]);
  });
  const base = t.testdir({ lower: {}, upper: {}, merged: {} });
  const lower = path.join(base, 'lower');
  const upper = path.join(base, 'upper');
  await apply(lower, [
    dir('etc/'), file('etc/a', 'a'), file('etc/b', 'b'),
    dir('opq/'), file('opq/old', 'old'), dir('opq/sub/'),
    dir('gone/'), file('gone/x', 'x'), file('keep', 'keep'), file('replaced', 'v1'),
  ]);
  await apply(upper, [
    dir('etc/'), file('etc/.wh.a'), file('etc/c', 'c'),
    file('.wh.gone'),
    dir('opq/'), file('opq/.wh..wh..opq'), file('opq/new', 'new'),
    file('replaced', 'v2'),
  ]);
  execFileSync('mount', ['-t', 'overlay', '-o', `lowerdir=${upper}:${lower}`, 'none', path.join(base, 'merged')]);
  merged = path.join(base, 'merged');
  const ls = (p: string) => fs.readdirSync(path.join(merged, p)).sort();
  t.same(ls('.'), ['etc', 'keep', 'opq', 'replaced'], 'gone/ is deleted');
  t.same(ls('etc'), ['b', 'c'], 'etc/a is deleted');
  t.same(ls('opq'), ['new'], 'opaque dir hides the lower contents');
  t.equal(read(path.join(merged, 'replaced')), 'v2');
  t.equal(read(path.join(merged, 'keep')), 'keep');
});

t.test('hard links into the layers below: the target copied up, as overlay would, then linked', async (t) => {
  const layers = (t: Test) => {
    const top = t.testdir({ bottom: {}, middle: {}, layer: {} });
    return { bottom: path.join(top, 'bottom'), middle: path.join(top, 'middle'), layer: path.join(top, 'layer') };
  };
  const put = (dir: string, rel: string, content: string, mode = 0o755) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content, { mode });
    fs.chmodSync(path.join(dir, rel), mode);
  };

  await t.test('a link to a file of a lower layer', async (t) => {
    const l = layers(t);
    put(l.bottom, 'bin/busybox', 'old', 0o755);
    put(l.middle, 'bin/busybox', 'the binary', 0o4755);
    fs.chownSync(path.join(l.middle, 'bin/busybox'), 1000, 1000);
    fs.chmodSync(path.join(l.middle, 'bin/busybox'), 0o4755);
    fs.utimesSync(path.join(l.middle, 'bin/busybox'), 1_000_000, 1_000_000);
    await apply(l.layer, [hardlink('bin/sh', 'bin/busybox'), file('etc/motd', 'hi')], LIMITS, [l.middle, l.bottom]);
    const copied = fs.statSync(path.join(l.layer, 'bin/busybox'));
    t.equal(fs.readFileSync(path.join(l.layer, 'bin/busybox'), 'utf8'), 'the binary', 'the topmost lower\'s file, copied up');
    t.equal(copied.mode & 0o7777, 0o4755, 'its mode, setuid kept');
    t.same([copied.uid, copied.gid], [1000, 1000], 'its owner');
    t.equal(Math.round(copied.mtimeMs / 1000), 1_000_000, 'its times');
    t.ok(sameInode(path.join(l.layer, 'bin/sh'), path.join(l.layer, 'bin/busybox')), 'the link and the target share an inode in the layer');
    t.equal(fs.readFileSync(path.join(l.middle, 'bin/busybox'), 'utf8'), 'the binary', 'the lower layer is untouched');
  });

  await t.test('the directories a link and its copied-up target go into keep the times the tar gave them', async (t) => {
    const l = layers(t);
    put(l.bottom, 'bin/busybox', 'the binary');
    fs.utimesSync(path.join(l.bottom, 'bin'), 3_000_000, 3_000_000);
    await apply(l.layer, [
      dir('usr/', { mtime: MTIME }), dir('usr/bin/', { mtime: MTIME }), hardlink('usr/bin/sh', 'bin/busybox'),
      dir('bin/', { mtime: MTIME }), hardlink('bin/sh', 'bin/busybox'),
    ], LIMITS, [l.bottom]);
    t.ok(sameInode(path.join(l.layer, 'usr/bin/sh'), path.join(l.layer, 'bin/busybox')), 'linked');
    for (const d of ['usr/bin', 'bin']) t.equal(fs.statSync(path.join(l.layer, d)).mtimeMs, MTIME.getTime(), `${d}: the tar's time, not when the link was made`);
  });

  await t.test('a target the layers above hide is not found', async (t) => {
    const whited = layers(t);
    put(whited.bottom, 'bin/tool', 'x');
    fs.mkdirSync(path.join(whited.middle, 'bin'));
    execFileSync('mknod', [path.join(whited.middle, 'bin/tool'), 'c', '0', '0']);
    await rejectsWith(t, apply(whited.layer, [hardlink('t', 'bin/tool')], LIMITS, [whited.middle, whited.bottom]), 'invalid-argument', /hard link "t": target "bin\/tool" does not exist in the layer or the layers below it/);

    const opaque = layers(t);
    put(opaque.bottom, 'opt/app/run', 'x');
    fs.mkdirSync(path.join(opaque.middle, 'opt/app'), { recursive: true });
    const native = berthFs();
    const middle = native.openRoot(opaque.middle);
    native.setxattr(middle, 'opt/app', 'trusted.overlay.opaque', Buffer.from('y'));
    native.close(middle);
    await rejectsWith(t, apply(opaque.layer, [hardlink('r', 'opt/app/run')], LIMITS, [opaque.middle, opaque.bottom]), 'invalid-argument', /does not exist in the layer or the layers below it/);

    const replaced = layers(t);
    put(replaced.bottom, 'lib/x.so', 'x');
    put(replaced.middle, 'lib', 'now a file', 0o644);
    await rejectsWith(t, apply(replaced.layer, [hardlink('y', 'lib/x.so')], LIMITS, [replaced.middle, replaced.bottom]), 'invalid-argument', /does not exist in the layer or the layers below it/);
  });

  await t.test('the layer\'s own deletions hide what is below', async (t) => {
    const l = layers(t);
    put(l.bottom, 'etc/conf', 'old');
    await rejectsWith(t, apply(l.layer, [hardlink('link', 'etc/conf'), file('etc/.wh.conf')], LIMITS, [l.bottom]), 'invalid-argument', /target "etc\/conf" does not exist in the layer or the layers below it/);
    const o = layers(t);
    put(o.bottom, 'etc/conf', 'old');
    await rejectsWith(t, apply(o.layer, [hardlink('link', 'etc/conf'), file('etc/.wh..wh..opq')], LIMITS, [o.bottom]), 'invalid-argument', /does not exist in the layer or the layers below it/);
    // A symlink where a directory of the path was (lib -> usr/lib) hides the older lib/ below it.
    const s = layers(t);
    put(s.bottom, 'lib/x.so', 'stale');
    fs.symlinkSync('usr/lib', path.join(s.middle, 'lib'));
    await rejectsWith(t, apply(s.layer, [hardlink('x', 'lib/x.so')], LIMITS, [s.middle, s.bottom]), 'invalid-argument', /does not exist in the layer or the layers below it/);
  });

  await t.test('no symlink is followed looking below', async (t) => {
    const box = sandbox(t);
    const lower = path.join(box.base, 'lower');
    fs.mkdirSync(lower);
    fs.symlinkSync(box.outside, path.join(lower, 'escape'));
    await rejectsWith(t, apply(box.root, [hardlink('stolen', 'escape/canary')], LIMITS, [lower]), 'invalid-argument', /target "escape\/canary" does not exist/);
    fs.rmSync(lower, { recursive: true });
    box.assertUntouched(t);
  });
});

t.test('directories a layer does not list take what the layers below have for them, as containerd gives them', async (t) => {
  // Registered before t.testdir so that it runs before the fixture is removed.
  let mounted = '';
  t.teardown(() => {
    if (mounted) execFileSync('umount', [mounted]);
  });
  const top = t.testdir({ bottom: {}, middle: {}, layer: {}, merged: {} });
  const [bottom, middle, layer] = ['bottom', 'middle', 'layer'].map((d) => path.join(top, d));
  // Below: /tmp 1777 (bottom), /srv/www 0750 of uid 33 with a user xattr (middle, over the
  // bottom's 0755 one), /opt a file in the middle over a bottom directory.
  fs.mkdirSync(path.join(bottom, 'tmp'), { mode: 0o1777 });
  fs.chmodSync(path.join(bottom, 'tmp'), 0o1777);
  fs.utimesSync(path.join(bottom, 'tmp'), 1_000_000, 1_000_000);
  fs.mkdirSync(path.join(bottom, 'srv/www'), { recursive: true });
  fs.mkdirSync(path.join(middle, 'srv/www'), { recursive: true });
  fs.chmodSync(path.join(middle, 'srv/www'), 0o750);
  fs.chownSync(path.join(middle, 'srv/www'), 33, 33);
  fs.writeFileSync(path.join(bottom, 'srv/www/old'), 'hidden by the middle layer');
  const native = berthFs();
  const middleRoot = native.openRoot(middle);
  native.setxattr(middleRoot, 'srv/www', 'user.origin', Buffer.from('middle'));
  native.setxattr(middleRoot, 'srv/www', 'trusted.overlay.opaque', Buffer.from('y'));
  native.close(middleRoot);
  fs.utimesSync(path.join(middle, 'srv/www'), 2_000_000, 2_000_000);
  fs.mkdirSync(path.join(bottom, 'opt'), { mode: 0o700 });
  fs.writeFileSync(path.join(middle, 'opt'), 'a file now');
  // What overlay would not show: a directory below a whiteout, below an opaque directory, and
  // below the new layer's own opaque directory.
  for (const dir of ['gone/app', 'hidden/data', 'own/cache']) {
    fs.mkdirSync(path.join(bottom, dir), { recursive: true });
    fs.chmodSync(path.join(bottom, dir), 0o777);
    fs.chownSync(path.join(bottom, dir), 1000, 1000);
  }
  execFileSync('mknod', [path.join(middle, 'gone'), 'c', '0', '0']);
  fs.mkdirSync(path.join(middle, 'hidden'), { mode: 0o750 });
  fs.chmodSync(path.join(middle, 'hidden'), 0o750);
  const middleAgain = native.openRoot(middle);
  native.setxattr(middleAgain, 'hidden', 'trusted.overlay.opaque', Buffer.from('y'));
  native.close(middleAgain);

  const stats = await apply(layer, [
    file('tmp/cache', 'c'), file('srv/www/index.html', 'hi'), file('opt/app/bin', 'x'),
    file('new/deep/f', 'f'), file('listed/f', 'f'), dir('listed/', { mode: 0o711, mtime: MTIME }),
    file('gone/app/f', 'f'), file('hidden/data/f', 'f'), file('own/.wh..wh..opq'), file('own/cache/f', 'f'),
  ], LIMITS, [middle, bottom]);
  t.same([...(stats.impliedDirs ?? [])].sort(), ['gone', 'gone/app', 'hidden', 'hidden/data', 'new', 'new/deep', 'opt', 'opt/app', 'own', 'own/cache', 'srv', 'srv/www', 'tmp'], 'the directories the tar did not list');

  const st = (rel: string) => fs.lstatSync(path.join(layer, rel));
  t.equal(st('tmp').mode & 0o7777, 0o1777, '/tmp keeps the sticky, world-writable mode of the layer below');
  t.equal(Math.round(st('tmp').mtimeMs / 1000), 1_000_000, 'and its times');
  t.equal(st('srv/www').mode & 0o7777, 0o750, 'the topmost layer below that has the directory gives it');
  t.same([st('srv/www').uid, st('srv/www').gid], [33, 33], 'its owner');
  t.equal(Math.round(st('srv/www').mtimeMs / 1000), 2_000_000);
  const layerRoot = native.openRoot(layer);
  t.teardown(() => native.close(layerRoot));
  t.equal(native.getxattr(layerRoot, 'srv/www', 'user.origin')?.toString(), 'middle', 'its xattrs');
  t.equal(native.getxattr(layerRoot, 'srv/www', 'trusted.overlay.opaque'), undefined, 'but not overlay\'s opaque mark, which would hide the layers below');
  for (const rel of ['opt', 'new', 'new/deep', 'gone', 'gone/app', 'hidden/data', 'own/cache']) {
    t.equal(st(rel).mode & 0o7777, 0o755, `${rel}: no directory overlay would show below (a file, a whiteout, an opaque directory hides it): 0755`);
    t.same([st(rel).uid, st(rel).gid], [0, 0], `${rel}: root's`);
    t.equal(st(rel).mtimeMs, 0, `${rel}: the epoch as its times, not when it was unpacked`);
  }
  t.equal(st('hidden').mode & 0o7777, 0o750, 'an opaque directory below is itself shown: its mode');
  t.equal(st('listed').mode & 0o7777, 0o711, 'a directory the tar lists after its content is as listed');
  t.equal(st('listed').mtimeMs, MTIME.getTime());

  // In the container: the stack mounted as a pull's image is.
  const merged = path.join(top, 'merged');
  execFileSync('mount', ['-t', 'overlay', '-o', `lowerdir=${layer}:${middle}:${bottom}`, 'none', merged]);
  mounted = merged;
  t.equal(fs.statSync(path.join(merged, 'tmp')).mode & 0o7777, 0o1777, '/tmp in the container is 1777');
  t.same(fs.readdirSync(path.join(merged, 'srv/www')), ['index.html'], 'the middle layer still hides the bottom\'s files, the new one nothing');
});
