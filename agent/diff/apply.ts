// Unpacks one uncompressed layer tar into a snapshot directory, confined to that directory.
//
// Confinement is the kernel's job, not a path check: every entry goes through the berth_fs
// addon, which opens the entry's parent with openat2(RESOLVE_IN_ROOT) relative to the snapshot
// directory and then acts on the last component without following it. So `../` names,
// absolute names, symlinks planted earlier in the layer (to `/`, to `..`, in chains) and hard
// links all resolve inside the directory at the moment they are used. Symlinks are written
// verbatim, whatever they point at: images have absolute ones, and they only mean something
// once the container's root is the overlay.
//
// Output is overlayfs' form of the diff: an OCI whiteout `.wh.NAME` becomes a 0/0 character
// device NAME, `.wh..wh..opq` in D becomes `trusted.overlay.opaque=y` on D.
//
// On failure the directory is left half-written: the caller throws it away (PendingSnapshot).
// Errors name the entry; the caller prefixes image and layer.

import { fchmodSync, fchownSync, ftruncateSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { BerthError, type ErrorCode } from '../../proto/errors';
import { berthFs, fromBytePath, type BerthFs } from '../native';
import { readTar, type TarEntry, type TarItem } from './tar-reader';
import type { SparseMap } from './tar-sparse';
import { OPAQUE_XATTR, OVERLAY_XATTR, type ApplyLimits, type ApplyStats } from './types';

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
/** Files up to this size are written with one native call (held in memory meanwhile). */
const SMALL_FILE = 1024 * 1024;

/** [atimeSec, atimeNsec, mtimeSec, mtimeNsec] */
type Times = [number, number, number, number];

/** Extract `tar` into `dir` (an existing, empty, private directory). */
/**
 * `plain`: an ordinary archive, not a layer (ADD's, cp's): `.wh.` names are files like any other
 * and overlay's xattrs are not set; still confined to `dir` the same way.
 */
export async function applyLayer(tar: Readable, dir: string, limits: ApplyLimits, options: { plain?: boolean } = {}): Promise<ApplyStats> {
  const fs = berthFs();
  const root = fs.openRoot(dir);
  const stats: ApplyStats = { bytes: 0, entries: 0 };
  // Directory times are set last: creating a child would bump its parent's mtime again.
  const dirTimes = new Map<string, Times>();
  // Every directory above an entry: those the layer never lists were made along the way.
  const ancestors = new Set<string>();

  let streamed = 0;
  // The raw tar, headers and padding included, so a layer of empty entries counts too.
  const count = (bytes: number) => {
    streamed += bytes;
    if (streamed > limits.maxLayerBytes) throw bomb(limits, 'layer tar');
  };

  try {
    for await (const item of readTar(tar, limits, count)) {
      const { entry } = item;
      try {
        await applyEntry(fs, root, item, limits, stats, dirTimes, ancestors, options.plain ?? false);
      } catch (err) {
        throw entryError(entry.name, err);
      }
      stats.entries++;
    }
    for (const [rel, t] of dirTimes) {
      try {
        fs.utimes(root, rel, t[0], t[1], t[2], t[3], true);
      } catch (err) {
        throw entryError(rel || '.', err);
      }
    }
    if (!options.plain) {
      const implied = [...ancestors].filter((dir) => !dirTimes.has(dir));
      if (implied.length > 0) stats.impliedDirs = implied;
    }
    return stats;
  } catch (err) {
    // Whoever feeds us must stop too (a decompressor, a download).
    if (!tar.destroyed) tar.destroy();
    throw streamError(err);
  } finally {
    fs.close(root);
  }
}

async function applyEntry(
  fs: BerthFs, root: number, { entry, content, readAll }: TarItem,
  limits: ApplyLimits, stats: ApplyStats, dirTimes: Map<string, Times>, ancestors: Set<string>, plain: boolean,
): Promise<void> {
  const { name, linkname: link } = entry;

  // Lexically, like containerd's join("/", name): `..` stops at the root. Symlinks are left
  // to the kernel's in-root resolution.
  const rel = clean(name);
  const slash = rel.lastIndexOf('/');
  const parent = slash < 0 ? '' : rel.slice(0, slash);
  const base = rel.slice(slash + 1);

  // Inside aufs' own metadata directories (.wh..wh.plnk and the like): nothing for overlay.
  if (!plain && parent.split('/').some((part) => part.startsWith(WHITEOUT + WHITEOUT))) return;
  noteAncestors(parent, ancestors);
  if (!plain && base.startsWith(WHITEOUT)) {
    applyWhiteout(fs, root, parent, base);
    return;
  }

  const { mode, uid, gid } = entry;
  const times = timesOf(entry);
  const xattrs = xattrsOf(entry);

  if (entry.type === 'directory') {
    fs.makeDir(root, rel, mode, uid, gid);
    for (const [key, value] of xattrs) fs.setxattr(root, rel, key, value);
    dirTimes.set(rel, times);
    return;
  }
  if (rel === '') {
    // A name that cleans to the root ("..", "/", "") cannot replace it; containerd skips these
    // too, and tars made with `tar -C dir .` can carry them.
    return;
  }

  switch (entry.type) {
    case 'file': {
      // A sparse file counts at its real size, as containerd counts it: its holes are content
      // whoever reads or copies it (a hard link copied up, a commit) gets.
      const size = entry.sparse ? Math.max(entry.size, entry.sparse.realSize) : entry.size;
      if (stats.bytes + size > limits.maxLayerBytes) throw bomb(limits, 'layer content');
      if (size <= SMALL_FILE && xattrs.length === 0 && !entry.sparse) {
        // Most files of a layer: gathered, then created, written and finished in one native call.
        const data = await readAll();
        fs.writeFile(root, rel, data, mode, uid, gid, ...times);
        stats.bytes += data.length;
        return;
      }
      // Created private (0600) and only given its owner and mode once written: chown clears
      // setuid bits and file capabilities, so those come after it, and times come last.
      const fd = fs.createFile(root, rel, 0o600);
      try {
        if (entry.sparse) {
          await writeSparse(fd, content, entry.sparse);
          stats.bytes += size;
        } else {
          for await (const chunk of content) {
            writeAll(fd, chunk);
            stats.bytes += chunk.length;
          }
        }
        fchownSync(fd, uid, gid);
        fchmodSync(fd, mode);
        for (const [key, value] of xattrs) fs.fsetxattr(fd, key, value);
        fs.futimes(fd, ...times);
      } finally {
        fs.close(fd);
      }
      return;
    }
    case 'link': {
      // The target is a path in the layer, confined the same way (lexically, then in-root).
      const target = clean(link);
      try {
        fs.link(root, rel, target);
      } catch (err) {
        // ENOENT from linkat itself, or from resolving the target's directory: the target is
        // not in this layer. It may be in a layer below (builders make such layers, and
        // containerd, Docker and umoci unpack them): the caller links it once the layer is
        // applied and the layers below are there (lower-links.ts). (ENOENT while making the
        // link's own parent directory is reported as is.)
        const { syscall, path } = err as { syscall?: string; path?: string };
        if (errnoOf(err) !== 'ENOENT' || (syscall !== 'linkat' && path !== target)) throw err;
        (stats.deferredLinks ??= []).push({ name: rel, target });
      }
      // Owner, mode and times belong to the shared inode and came with the target's entry.
      return;
    }
    case 'symlink':
      fs.symlink(root, rel, link);
      fs.lchown(root, rel, uid, gid);
      // No chmod: a symlink's mode means nothing on Linux and chmod would follow it.
      for (const [key, value] of xattrs) fs.setxattr(root, rel, key, value);
      fs.utimes(root, rel, ...times, false);
      return;
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      const type = entry.type === 'fifo' ? S_IFIFO : entry.type === 'block-device' ? S_IFBLK : S_IFCHR;
      fs.mknod(root, rel, type | 0o600, entry.devmajor, entry.devminor);
      fs.lchown(root, rel, uid, gid);
      fs.chmod(root, rel, mode);
      for (const [key, value] of xattrs) fs.setxattr(root, rel, key, value);
      fs.utimes(root, rel, ...times, false);
      return;
    }
  }
}

/**
 * A sparse file's stored bytes written where its map puts them, and the file extended to its real
 * size: what is between the fragments stays a hole.
 */
async function writeSparse(fd: number, content: AsyncIterable<Buffer>, map: SparseMap): Promise<void> {
  let fragment = 0;
  let into = 0; // bytes of the current fragment written
  for await (let chunk of content) {
    while (chunk.length > 0) {
      // checkSparse made the fragments cover exactly the stored bytes.
      const [offset, length] = map.fragments[fragment]!;
      const k = Math.min(chunk.length, length - into);
      writeAll(fd, chunk.subarray(0, k), offset + into);
      into += k;
      chunk = chunk.subarray(k);
      if (into === length) {
        fragment++;
        into = 0;
      }
    }
  }
  ftruncateSync(fd, map.realSize);
}

/** `dir` and the directories above it, into `seen` (stopping at one already there: so are its own). */
function noteAncestors(dir: string, seen: Set<string>): void {
  for (let at = dir; at !== '' && !seen.has(at); at = at.slice(0, Math.max(0, at.lastIndexOf('/')))) seen.add(at);
}

// `.wh..wh..opq` makes its directory opaque (created if the layer did not list it); other
// `.wh..wh.` names are aufs bookkeeping and mean nothing here; `.wh.NAME` deletes NAME.
function applyWhiteout(fs: BerthFs, root: number, parent: string, base: string): void {
  if (base === OPAQUE) {
    if (parent !== '') fs.mkdir(root, parent, 0o755);
    fs.setxattr(root, parent, OPAQUE_XATTR, Buffer.from('y'));
    return;
  }
  if (base.startsWith(WHITEOUT + WHITEOUT)) return;
  const victim = base.slice(WHITEOUT.length);
  if (victim === '' || victim === '.' || victim === '..') {
    throw new BerthError('invalid-argument', `whiteout names no file (${quote(victim)})`);
  }
  // mknod replaces whatever the layer put there earlier; a later entry replaces the whiteout.
  fs.mknod(root, parent === '' ? victim : `${parent}/${victim}`, S_IFCHR, 0, 0);
}

function clean(name: string): string {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

function timesOf(entry: TarEntry): Times {
  const [ms, mns] = entry.mtime;
  const a = entry.atime;
  // As containerd does: the later of atime and mtime, so a file never looks read before written.
  if (a === undefined || a[0] < ms || (a[0] === ms && a[1] < mns)) return [ms, mns, ms, mns];
  return [a[0], a[1], ms, mns];
}

// Overlay state comes only from whiteout entries: a planted trusted.overlay.redirect, origin
// or metacopy would make the mounted overlay look up other paths of other layers.
const xattrsOf = (entry: TarEntry): Array<[string, Buffer]> =>
  entry.xattrs.filter(([name]) => !name.startsWith(OVERLAY_XATTR));

/** All of `chunk`, at the file's offset or at `position`. */
function writeAll(fd: number, chunk: Buffer, position?: number): void {
  for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off, chunk.length - off, position === undefined ? null : position + off);
}

function bomb(limits: ApplyLimits, what: string): BerthError {
  return new BerthError(
    'resource-exhausted',
    `${what} exceeds the limit of ${limits.maxLayerBytes} bytes (maxLayerBytes); refusing a likely decompression bomb`,
  );
}

const errnoOf = (err: unknown): string | undefined =>
  typeof (err as { code?: unknown })?.code === 'string' && /^E[A-Z0-9]+$/.test((err as { code: string }).code)
    ? (err as { code: string }).code
    : undefined;

// What an errno means for a layer: most say the tar asks for something impossible (a path
// through a file, a symlink loop, a name too long), a full disk is exhaustion, the rest are ours.
function codeOfErrno(errno: string): ErrorCode {
  switch (errno) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EMFILE':
    case 'ENFILE':
      return 'resource-exhausted';
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EISDIR':
    case 'ELOOP':
    case 'EEXIST':
    case 'EINVAL':
    case 'ENAMETOOLONG':
    case 'EXDEV':
    case 'EPERM':
    case 'EMLINK':
      return 'invalid-argument';
    default:
      return 'internal';
  }
}

function entryError(name: string, err: unknown): BerthError {
  const prefix = `entry ${quote(name)}`;
  if (err instanceof BerthError) return new BerthError(err.code, `${prefix}: ${err.message}`, { cause: err.cause ?? err });
  const errno = errnoOf(err);
  if (!errno) {
    // The entry's content stream failed: the tar or its source broke mid-entry.
    const broken = streamError(err);
    return new BerthError(broken.code, `${prefix}: ${broken.message}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new BerthError(codeOfErrno(errno), `${prefix}: ${message}`, { cause: err });
}

// Failures of the tar stream itself (not of an entry): a corrupt or truncated tar (the reader's
// BerthErrors), or whatever the source stream (gunzip, a digest check) threw.
function streamError(err: unknown): BerthError {
  if (err instanceof BerthError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BerthError('data-loss', `layer tar is unreadable: ${message}`, { cause: err });
}

const quote = (bytes: string): string => JSON.stringify(fromBytePath(bytes));
