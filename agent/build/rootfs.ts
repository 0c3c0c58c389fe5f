// Files into and out of a build step's root filesystem (a mounted overlay nobody runs in while
// the build touches it): paths resolved as a chroot would (a symlink in the image never leads
// out of it), COPY's sources read from the context or from another stage's root, and written
// with Docker's ownership, modes and times.

import { lstatSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { BerthError } from '../../proto/errors';
import { OVERLAY_XATTR } from '../diff';
import { berthFs, toBytePath } from '../native';
import { type BuildContext, cleanParts, type EntryType, globRegExp, hashFile, hasWildcard, type SpecialNode, specialNodeOf } from './context';

const MAX_SYMLINKS = 40;
// File type bits for mknod.
const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

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
  /** A FIFO or device ('other'): made again at the destination. */
  node?: SpecialNode;
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
    ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}), ...(e.node ? { node: e.node } : {}), hostPath: context.hostPath(e),
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
      return e ? context.digest(e) : hashFile(file.hostPath, file.size);
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
    const node = type === 'other' ? specialNodeOf(st) : undefined;
    return {
      rel, type, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size), mtimeNs: st.mtimeNs, hostPath,
      ...(type === 'symlink' ? { linkTarget: await fs.readlink(hostPath) } : {}),
      ...(type === 'file' && st.nlink > 1n ? { inode: `${st.dev}:${st.ino}` } : {}),
      ...(node ? { node } : {}),
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
      // One component at a time, as Go's filepath.Glob matches: each directory on the way is
      // followed through symlinks inside the root (/lib/*.so where /lib -> usr/lib), and only the
      // directories the pattern names are read, not the whole root. A match itself is not followed.
      const parts = cleanParts(pattern.split('/'));
      let dirs = [''];
      const out: SourceEntry[] = [];
      for (const [i, part] of parts.entries()) {
        const last = i === parts.length - 1;
        const re = hasWildcard(part) ? globRegExp(part) : undefined;
        const next: string[] = [];
        for (const dir of dirs) {
          const names = re ? (await fs.readdir(path.join(root, dir)).catch(() => [] as string[])).filter((n) => re.test(n)).sort() : [part];
          for (const name of names) {
            const rel = dir === '' ? name : `${dir}/${name}`;
            if (last) {
              const e = await entryAt(rel);
              if (e) out.push(e);
              continue;
            }
            // A link that loops is no directory (as Glob takes it); two links to one directory are read once.
            const resolved = await resolveInRoot(root, rel, true).catch(() => undefined);
            if (resolved !== undefined && !next.includes(resolved) && (await entryAt(resolved))?.type === 'dir') next.push(resolved);
          }
        }
        dirs = next;
      }
      return out;
    },
    async descendants(dir) {
      const out: SourceEntry[] = [];
      await walk(dir.rel, out);
      return out;
    },
    digest: (file) => hashFile(file.hostPath, file.size),
  };
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
  /** Everything through the mounted root, nothing left for UpperWrites.finish. */
  throughRoot?: boolean;
}

/** What a copy leaves to be written straight into the step's upper dir once the overlay is unmounted. */
export interface UpperWrites {
  /** Write it into `upper`, the unmounted overlay's upper dir. */
  finish(upper: string): Promise<void>;
}

/** One entry of a copy's part written straight into the upper dir. */
type Later =
  | { kind: 'dir'; path: string; owner: Ownership; mode: number }
  | { kind: 'leaf'; path: string; source: SourceEntry; owner: Ownership; mode: number };

/**
 * Write `items` (parents listed before their children) into the mounted `root`. Directories the
 * destinations need are created 0755 (owned as --chown says, else by root); an existing directory
 * is kept as it is; anything else at a destination is replaced.
 *
 * What goes below a directory this copy made through the overlay (a new directory, so overlay
 * would only create plain entries in it, in its upper dir) is left to `finish`, which creates the
 * same entries straight in the upper dir once the overlay is unmounted: a 10k-file COPY through
 * overlay cost twice the writes, and unmounting it as much again to drop its dentries. Copies of
 * hard-linked sources go through the overlay whole.
 */
export async function writeItems(root: string, items: CopyItem[], options: WriteOptions): Promise<UpperWrites> {
  // Destination directories by the path the copy names, to the path they really are in the
  // root (symlinks resolved): every host path below is built from resolved parts only.
  const dirs = new Map<string, string>([['', '']]);
  // Directories this copy made, and the paths it wrote: in a directory it made, a name it has not
  // written yet is free, and need not be looked up before it is written.
  const fresh = new Set<string>();
  const taken = new Set<string>();
  const direct = !options.throughRoot && !items.some((item) => item.source.inode !== undefined);
  // Directories made in the upper dir by finish (their contents too): below a fresh one.
  const deferred = new Set<string>();
  const later: Later[] = [];
  const ensureDir = async (rel: string, created?: { owner: Ownership; mode: number }): Promise<string> => {
    const known = dirs.get(rel);
    if (known !== undefined) return known;
    const parentRel = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
    const parent = await ensureDir(parentRel);
    const base = path.posix.basename(rel);
    const how = created ?? { owner: options.chown ?? { uid: 0, gid: 0 }, mode: 0o755 };
    if (direct && (fresh.has(parent) || deferred.has(parent))) {
      // In a directory of ours nothing is a symlink: the path is as named.
      const resolved = parent === '' ? base : `${parent}/${base}`;
      if (taken.has(resolved)) throw new BerthError('failed-precondition', `cannot copy to /${rel}: /${resolved} is not a directory`);
      deferred.add(resolved);
      taken.add(resolved);
      later.push({ kind: 'dir', path: resolved, ...how });
      dirs.set(rel, resolved);
      return resolved;
    }
    const resolved = await resolveInRoot(root, parent === '' ? base : `${parent}/${base}`, true);
    const host = path.join(root, resolved);
    const st = await fs.lstat(host).catch(() => undefined);
    if (!st) {
      fresh.add(resolved);
      taken.add(resolved);
      await fs.mkdir(host, { recursive: true, mode: 0o755 });
      await fs.lchown(host, how.owner.uid, how.owner.gid);
      await fs.chmod(host, how.mode);
    } else if (!st.isDirectory()) {
      throw new BerthError('failed-precondition', `cannot copy to /${rel}: /${resolved} is not a directory in the image`);
    }
    dirs.set(rel, resolved);
    return resolved;
  };

  const dirTimes: Array<[string, bigint]> = [];
  const ours = (resolved: string) => direct && (deferred.has(resolved) || fresh.has(resolved));
  // The first copy of each multiply-linked source file: later names of it are links to that.
  const linked = new Map<string, string>();
  const writer = new LeafWriter(root);
  try {
    for (const [i, item] of items.entries()) {
      const { source } = item;
      const owner = options.chown ?? { uid: source.uid, gid: source.gid };
      const mode = options.chmod ?? source.mode;
      if (source.type === 'dir') {
        const existed = dirs.has(item.dest);
        const resolved = await ensureDir(item.dest, { owner, mode });
        if (!existed) dirTimes.push([resolved, source.mtimeNs]);
        continue;
      }
      const parentRel = path.posix.dirname(item.dest) === '.' ? '' : path.posix.dirname(item.dest);
      const parent = await ensureDir(parentRel);
      const target = parent === '' ? path.posix.basename(item.dest) : `${parent}/${path.posix.basename(item.dest)}`;
      if (direct && (fresh.has(parent) || deferred.has(parent))) {
        // Written twice (two sources, one destination): the later one wins, as below.
        taken.add(target);
        later.push({ kind: 'leaf', path: target, source, owner, mode });
        continue;
      }
      const mayExist = !fresh.has(parent) || taken.has(target);
      taken.add(target);
      const first = source.inode !== undefined ? linked.get(source.inode) : undefined;
      if (first !== undefined) writer.link(first, target, mayExist);
      else {
        await writer.write(target, source, owner, mode, mayExist);
        if (source.inode !== undefined) linked.set(source.inode, target);
      }
      // Small files are written without leaving the event loop: let it breathe now and then.
      if (i % 256 === 255) await new Promise((resolve) => setImmediate(resolve));
    }
    // Directory times last, deepest first: writing into a directory moves its mtime. Those of
    // directories finish writes into are set by finish.
    for (const [resolved, mtimeNs] of [...dirTimes].reverse()) if (!ours(resolved)) writer.setTimes(resolved, mtimeNs);
  } finally {
    writer.close();
  }
  return {
    async finish(upper) {
      const upperWriter = new LeafWriter(upper);
      const native = berthFs();
      try {
        const written = new Set<string>();
        for (const [i, entry] of later.entries()) {
          const rel = toBytePath(entry.path);
          if (entry.kind === 'dir') native.makeDir(upperWriter.rootFd, rel, entry.mode, entry.owner.uid, entry.owner.gid);
          else await upperWriter.write(entry.path, entry.source, entry.owner, entry.mode, written.has(entry.path));
          written.add(entry.path);
          if (i % 256 === 255) await new Promise((resolve) => setImmediate(resolve));
        }
        for (const [resolved, mtimeNs] of [...dirTimes].reverse()) if (ours(resolved)) upperWriter.setTimes(resolved, mtimeNs);
      } finally {
        upperWriter.close();
      }
    },
  };
}

/** Files up to this size are copied through memory in one native call; larger ones by the kernel. */
const SMALL_FILE = 1024 * 1024;

/**
 * Writes the leaves of a copy into the mounted root through the native addon: each path resolved
 * inside the root, a small file created, written, owned, moded and timed in one call. One round
 * trip through the thread pool per file and per call cost more than the copy itself (a 10k-file
 * COPY).
 */
class LeafWriter {
  private readonly native = berthFs();
  readonly rootFd: number;
  /** A descriptor on the directory of the last source file, for its xattrs (sources come sorted, so it is mostly the same). */
  private sourceDir?: { path: string; fd: number };

  constructor(private readonly root: string) {
    this.rootFd = this.native.openRoot(root);
  }

  /**
   * `target`: a path in the root whose parent is a resolved, real directory; `mayExist`: unless
   * it is known to be free, whatever is there is replaced (never a directory).
   */
  async write(target: string, source: SourceEntry, owner: Ownership, mode: number, mayExist: boolean): Promise<void> {
    const rel = toBytePath(target);
    if (mayExist) this.clear(target, source.rel);
    const [seconds, nanos] = timesOf(source.mtimeNs);
    if (source.node) {
      // A FIFO or device is made anew, as BuildKit does; a socket is not copied.
      const type = source.node.kind === 'fifo' ? S_IFIFO : source.node.kind === 'block' ? S_IFBLK : S_IFCHR;
      this.native.mknod(this.rootFd, rel, type | 0o600, source.node.major, source.node.minor);
      this.native.lchown(this.rootFd, rel, owner.uid, owner.gid);
      this.native.chmod(this.rootFd, rel, mode);
      this.native.utimes(this.rootFd, rel, seconds, nanos, seconds, nanos, false);
      return;
    }
    if (source.type !== 'file' && source.type !== 'symlink') return;
    if (source.type === 'symlink') {
      this.native.symlink(this.rootFd, rel, source.linkTarget!);
      this.native.lchown(this.rootFd, rel, owner.uid, owner.gid);
      this.native.utimes(this.rootFd, rel, seconds, nanos, seconds, nanos, false);
      return;
    }
    if (source.size <= SMALL_FILE) {
      // Created private, written, then owner and mode (after the chown, which clears setuid and
      // setgid bits) and times.
      this.native.writeFile(this.rootFd, rel, readFileSync(source.hostPath), mode, owner.uid, owner.gid, seconds, nanos, seconds, nanos);
    } else {
      const host = path.join(this.root, target);
      await fs.copyFile(source.hostPath, host);
      this.native.lchown(this.rootFd, rel, owner.uid, owner.gid);
      this.native.chmod(this.rootFd, rel, mode);
      this.native.utimes(this.rootFd, rel, seconds, nanos, seconds, nanos, false);
    }
    // The file's xattrs after the chown, which drops security.capability (a setcap binary
    // copied from a build stage keeps its capabilities, as with BuildKit); setting them moves
    // no time.
    this.copyXattrs(source.hostPath, rel);
  }

  /** Atime and mtime of `target` (never following it), to the nanosecond. */
  setTimes(target: string, mtimeNs: bigint): void {
    const [seconds, nanos] = timesOf(mtimeNs);
    this.native.utimes(this.rootFd, toBytePath(target), seconds, nanos, seconds, nanos, false);
  }

  /** A later name of a file copied already (`first`). */
  link(first: string, target: string, mayExist: boolean): void {
    if (mayExist) this.clear(target, first);
    this.native.link(this.rootFd, toBytePath(target), toBytePath(first));
  }

  close(): void {
    this.native.close(this.rootFd);
    if (this.sourceDir) this.native.close(this.sourceDir.fd);
  }

  /** Whatever is at `target` is replaced, but never a directory. */
  private clear(target: string, what: string): void {
    const st = lstatOrUndefined(path.join(this.root, target));
    if (!st) return;
    if (st.isDirectory()) throw new BerthError('failed-precondition', `cannot copy ${what || '.'} onto /${target}: a directory is there`);
    this.native.remove(this.rootFd, toBytePath(target));
  }

  private copyXattrs(from: string, to: string): void {
    const dir = path.dirname(from);
    if (this.sourceDir?.path !== dir) {
      if (this.sourceDir) this.native.close(this.sourceDir.fd);
      this.sourceDir = undefined;
      this.sourceDir = { path: dir, fd: this.native.openRoot(dir) };
    }
    const src = this.sourceDir.fd;
    const name = toBytePath(path.basename(from));
    let keys: string[];
    try {
      keys = this.native.listxattr(src, name);
    } catch (err) {
      // A filesystem without xattrs has none to copy.
      if ((err as NodeJS.ErrnoException).code === 'ENOTSUP' || (err as NodeJS.ErrnoException).code === 'EOPNOTSUPP') return;
      throw err;
    }
    for (const key of keys) {
      if (key.startsWith(OVERLAY_XATTR)) continue;
      const value = this.native.getxattr(src, name, key);
      if (value !== undefined) this.native.setxattr(this.rootFd, to, key, value);
    }
  }
}

function lstatOrUndefined(file: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Nanoseconds since the epoch as [seconds, nanoseconds], for times before 1970 too. */
function timesOf(ns: bigint): [number, number] {
  const seconds = ns / 1_000_000_000n - (ns % 1_000_000_000n < 0n ? 1n : 0n);
  return [Number(seconds), Number(ns - seconds * 1_000_000_000n)];
}

