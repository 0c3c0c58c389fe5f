// Files into and out of a build step's root filesystem (a mounted overlay nobody runs in while
// the build touches it): paths resolved as a chroot would (a symlink in the image never leads
// out of it), COPY's sources read from the context or from another stage's root, and written
// with Docker's ownership, modes and times.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { BerthError } from '../../proto/errors';
import { berthFs, toBytePath } from '../native';
import { type BuildContext, cleanParts, type EntryType, globRegExp } from './context';

const MAX_SYMLINKS = 40;

/**
 * `rel` inside `root` as the host path a chroot at `root` would reach: symlinks on the way (and
 * at the end with `followLast`) followed, absolute targets and `..` kept inside `root`. Missing
 * components are left as named. Returns the path relative to root ('' for root itself).
 */
export async function resolveInRoot(root: string, rel: string, followLast = true): Promise<string> {
  let pending = rel.split('/');
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      // Resolved components are real directories: `..` goes up one, never above the root.
      done.pop();
      continue;
    }
    const candidate = [...done, name];
    let st;
    try {
      st = await fs.lstat(path.join(root, ...candidate));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      return [...candidate, ...cleanParts(pending)].join('/');
    }
    const isLast = pending.every((p) => p === '' || p === '.');
    if (st.isSymbolicLink() && (!isLast || followLast)) {
      if (++hops > MAX_SYMLINKS) throw new BerthError('invalid-argument', `/${candidate.join('/')}: too many levels of symbolic links`);
      const target = await fs.readlink(path.join(root, ...candidate));
      if (target.startsWith('/')) done.length = 0;
      pending = [...target.split('/'), ...pending];
      continue;
    }
    done.push(name);
  }
  return done.join('/');
}

/** A file, directory or symlink to copy, wherever it comes from. */
export interface SourceEntry {
  /** Path in its tree ('' for the tree's root). */
  rel: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  linkTarget?: string;
  /** Where its bytes are on the host. */
  hostPath: string;
  /**
   * The name it is copied as, when not its own: a source reached through a symlink keeps the
   * name it was asked by (COPY python3 /bin/ copies python3, not the python3.11 it links to).
   */
  name?: string;
  /** dev:ino of a file with more than one name, so the copy keeps them one file. */
  inode?: string;
}

/** Where COPY's sources come from: the build context, or another stage's (or image's) root. */
export interface SourceTree {
  /** Follows symlinks inside the tree; undefined when absent. */
  resolve(rel: string): Promise<SourceEntry | undefined>;
  /** Entries matching a wildcard pattern, sorted. */
  match(pattern: string): Promise<SourceEntry[]>;
  /** Everything below a directory, parents first. */
  descendants(dir: SourceEntry): Promise<SourceEntry[]>;
  /** sha256 hex of a regular file. */
  digest(file: SourceEntry): Promise<string>;
}

/** The build context as a source tree: its files are copied as owned by root, as Docker does. */
export function contextTree(context: BuildContext): SourceTree {
  const toSource = (e: NonNullable<ReturnType<BuildContext['get']>>): SourceEntry => ({
    rel: e.rel, type: e.type, mode: e.mode, uid: 0, gid: 0, size: e.size, mtimeNs: e.mtimeNs,
    ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}), hostPath: context.hostPath(e),
  });
  return {
    async resolve(rel) {
      const e = context.resolve(cleanParts(rel.split('/')).join('/'));
      return e ? toSource(e) : undefined;
    },
    async match(pattern) {
      return context.match(cleanParts(pattern.split('/')).join('/')).map(toSource);
    },
    async descendants(dir) {
      return context.descendants(dir.rel).map(toSource);
    },
    async digest(file) {
      const e = context.get(file.rel);
      return e ? context.digest(e) : hashFile(file.hostPath);
    },
  };
}

/** A mounted root filesystem (another stage's, an image's) as a source tree; it must not change meanwhile. */
export function rootfsTree(root: string): SourceTree {
  const entryAt = async (rel: string): Promise<SourceEntry | undefined> => {
    const hostPath = path.join(root, rel);
    const st = await fs.lstat(hostPath, { bigint: true }).catch(() => undefined);
    if (!st) return undefined;
    const type: EntryType = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    return {
      rel, type, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size), mtimeNs: st.mtimeNs, hostPath,
      ...(type === 'symlink' ? { linkTarget: await fs.readlink(hostPath) } : {}),
      ...(type === 'file' && st.nlink > 1n ? { inode: `${st.dev}:${st.ino}` } : {}),
    };
  };
  const walk = async (rel: string, out: SourceEntry[]): Promise<void> => {
    const names = (await fs.readdir(path.join(root, rel))).sort();
    for (const name of names) {
      const child = rel === '' ? name : `${rel}/${name}`;
      const e = await entryAt(child);
      if (!e) continue;
      out.push(e);
      if (e.type === 'dir') await walk(child, out);
    }
  };
  return {
    async resolve(rel) {
      return entryAt(await resolveInRoot(root, rel, true));
    },
    async match(pattern) {
      const all: SourceEntry[] = [];
      await walk('', all);
      const re = globRegExp(cleanParts(pattern.split('/')).join('/'));
      return all.filter((e) => re.test(e.rel));
    },
    async descendants(dir) {
      const out: SourceEntry[] = [];
      await walk(dir.rel, out);
      return out;
    },
    digest: (file) => hashFile(file.hostPath),
  };
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** One thing to write: a source entry at a path in the destination root. */
export interface CopyItem {
  source: SourceEntry;
  /** Path in the destination root, no leading slash. */
  dest: string;
}

export interface Ownership {
  uid: number;
  gid: number;
}

export interface WriteOptions {
  /** --chown: every copied entry (and each directory the copy creates) gets this owner. */
  chown?: Ownership;
  /** --chmod: every copied entry gets these permission bits. */
  chmod?: number;
}

/**
 * Write `items` (parents listed before their children) into the mounted `root`. Directories the
 * destinations need are created 0755 (owned as --chown says, else by root); an existing directory
 * is kept as it is; anything else at a destination is replaced.
 */
export async function writeItems(root: string, items: CopyItem[], options: WriteOptions): Promise<void> {
  // Destination directories by the path the copy names, to the path they really are in the
  // root (symlinks resolved): every host path below is built from resolved parts only.
  const dirs = new Map<string, string>([['', '']]);
  const ensureDir = async (rel: string, created?: { owner: Ownership; mode: number; mtimeNs?: bigint }): Promise<string> => {
    const known = dirs.get(rel);
    if (known !== undefined) return known;
    const parentRel = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
    const parent = await ensureDir(parentRel);
    const base = path.posix.basename(rel);
    const resolved = await resolveInRoot(root, parent === '' ? base : `${parent}/${base}`, true);
    const host = path.join(root, resolved);
    const st = await fs.lstat(host).catch(() => undefined);
    if (!st) {
      await fs.mkdir(host, { recursive: true, mode: 0o755 });
      const how = created ?? { owner: options.chown ?? { uid: 0, gid: 0 }, mode: 0o755 };
      await fs.lchown(host, how.owner.uid, how.owner.gid);
      await fs.chmod(host, how.mode);
    } else if (!st.isDirectory()) {
      throw new BerthError('failed-precondition', `cannot copy to /${rel}: /${resolved} is not a directory in the image`);
    }
    dirs.set(rel, resolved);
    return resolved;
  };

  // Files are written a few at a time: one by one, a 10k-file COPY waits on each round trip.
  const pending: Array<Promise<void>> = [];
  const flush = async () => {
    await Promise.all(pending.splice(0));
  };
  const dirTimes: Array<[string, bigint]> = [];
  // The first copy of each multiply-linked source file: later names of it are links to that.
  const linked = new Map<string, Promise<string>>();
  for (const item of items) {
    const { source } = item;
    const owner = options.chown ?? { uid: source.uid, gid: source.gid };
    const mode = options.chmod ?? source.mode;
    if (source.type === 'dir') {
      await flush();
      const existed = dirs.has(item.dest);
      const resolved = await ensureDir(item.dest, { owner, mode });
      if (!existed) dirTimes.push([resolved, source.mtimeNs]);
      continue;
    }
    const parentRel = path.posix.dirname(item.dest) === '.' ? '' : path.posix.dirname(item.dest);
    const parent = await ensureDir(parentRel);
    const target = path.join(root, parent, path.posix.basename(item.dest));
    const first = source.inode !== undefined ? linked.get(source.inode) : undefined;
    if (first) {
      pending.push(first.then((existing) => linkLeaf(existing, target)));
    } else {
      const written = writeLeaf(target, source, owner, mode).then(() => target);
      if (source.inode !== undefined) linked.set(source.inode, written);
      pending.push(written.then(() => undefined));
    }
    if (pending.length >= 32) await flush();
  }
  await flush();
  // Directory times last, deepest first: writing into a directory moves its mtime.
  for (const [resolved, mtimeNs] of dirTimes.reverse()) await setTimes(path.join(root, resolved), mtimeNs);
}

async function writeLeaf(target: string, source: SourceEntry, owner: Ownership, mode: number): Promise<void> {
  const st = await fs.lstat(target).catch(() => undefined);
  if (st) {
    if (st.isDirectory()) throw new BerthError('failed-precondition', `cannot copy ${source.rel || '.'} onto ${target}: a directory is there`);
    await fs.rm(target, { force: true });
  }
  if (source.type === 'symlink') {
    await fs.symlink(source.linkTarget!, target);
    await fs.lchown(target, owner.uid, owner.gid);
    await setTimes(target, source.mtimeNs, true);
    return;
  }
  // Sockets, FIFOs and devices are not copied (BuildKit recreates FIFOs and devices).
  if (source.type !== 'file') return;
  await fs.copyFile(source.hostPath, target);
  await applyMetadata(target, owner, mode, source.mtimeNs, source.hostPath);
}

async function linkLeaf(existing: string, target: string): Promise<void> {
  const st = await fs.lstat(target).catch(() => undefined);
  if (st?.isDirectory()) throw new BerthError('failed-precondition', `cannot link onto ${target}: a directory is there`);
  if (st) await fs.rm(target, { force: true });
  await fs.link(existing, target);
}

async function applyMetadata(target: string, owner: Ownership, mode: number, mtimeNs: bigint, xattrsFrom?: string): Promise<void> {
  await fs.lchown(target, owner.uid, owner.gid);
  // After the chown, which clears setuid and setgid bits.
  await fs.chmod(target, mode);
  // And the file's xattrs after both: a chown drops security.capability (a setcap binary
  // copied from a build stage keeps its capabilities, as with BuildKit).
  if (xattrsFrom) copyXattrs(xattrsFrom, target);
  await setTimes(target, mtimeNs);
}

function copyXattrs(from: string, to: string): void {
  const native = berthFs();
  const src = native.openRoot(path.dirname(from));
  const dst = native.openRoot(path.dirname(to));
  try {
    const name = toBytePath(path.basename(from));
    let keys: string[];
    try {
      keys = native.listxattr(src, name);
    } catch (err) {
      // A filesystem without xattrs has none to copy.
      if ((err as NodeJS.ErrnoException).code === 'ENOTSUP' || (err as NodeJS.ErrnoException).code === 'EOPNOTSUPP') return;
      throw err;
    }
    for (const key of keys) {
      if (key.startsWith('trusted.overlay.')) continue;
      const value = native.getxattr(src, name, key);
      if (value !== undefined) native.setxattr(dst, toBytePath(path.basename(to)), key, value);
    }
  } finally {
    native.close(src);
    native.close(dst);
  }
}

async function setTimes(target: string, mtimeNs: bigint, link = false): Promise<void> {
  const seconds = Number(mtimeNs) / 1e9;
  if (link) await fs.lutimes(target, seconds, seconds);
  else await fs.utimes(target, seconds, seconds);
}
