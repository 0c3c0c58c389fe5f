// What a container changed, read from its overlay upper dir: `berth diff`'s A/C/D list, and the
// walk of the upper dir that `commit` turns into a layer.
//
// The upper dir is in overlayfs form: a deleted lower path is a 0/0 character device (a
// whiteout), and a directory that hides everything below it (deleted, then made again) carries
// trusted.overlay.opaque=y. Overlay may also put trusted.overlay.origin/impure on copied-up
// entries: bookkeeping, skipped. With redirect_dir or metacopy on (both off by default, and berth
// mounts without them), an upper entry would stand for lower content at another path or without
// its data; such an upper dir is refused rather than read wrongly.
//
// The walk reads the upper dir through descriptors (native/: openBeneath and the calls on its
// descriptor), never through paths: a running container may swap a directory for a symlink to /
// or /etc while it is read, and that must never put a host file into `diff` or a commit.
//
// Paths are byte strings (one char per byte, the berth_fs convention), so names that are not
// UTF-8 survive the walk; `changes` shows them as text.

import { fstatSync, type Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { BerthError } from '../../proto/errors';
import { berthFs, fromBytePath, type BerthFs } from '../native';
import { OPAQUE_XATTR, OVERLAY_XATTR, type Change } from './types';

/** One entry of an upper dir, parents before children, names in byte order. */
export interface UpperEntry {
  /** Path relative to the upper dir, a byte string, never empty. */
  rel: string;
  /** Of the object `fd` holds. */
  stats: Stats;
  /** A 0/0 character device: the path is deleted. */
  whiteout: boolean;
  /** A directory that hides the lower directories' contents. */
  opaque: boolean;
  /** Names of the entry's xattrs, overlay's own included, sorted. */
  xattrNames: string[];
  /**
   * An O_PATH descriptor on the entry, opened without following any symlink: read its xattrs
   * (rel ""), link target and content through it, not through `rel`. The walk owns it: valid
   * until the walk moves on, never closed by the consumer.
   */
  fd: number;
}

export interface WalkOptions {
  /**
   * Called with each entry once it is opened, before it is yielded or listed: where tests change
   * the tree under the walk (swap a directory for a symlink), as a running container could.
   */
  onOpened?: (rel: string) => void | Promise<void>;
}


/** A path of ours as what node's fs takes: the bytes, not a re-encoding of them. */
export const bytes = (bytePath: string): Buffer => Buffer.from(bytePath, 'latin1');

const join = (dir: string, rel: string): string => (rel === '' ? dir : dir === '' ? rel : `${dir}/${rel}`);

export function isWhiteout(stats: Stats): boolean {
  return stats.isCharacterDevice() && stats.rdev === 0;
}

/**
 * Walk an upper dir depth-first, parents first, siblings in byte order (so a layer made from it
 * is the same bytes every time). The upper dir itself is not yielded. An entry deleted between
 * the listing of its directory and its opening is left out: the walk sees it gone.
 */
export async function* walkUpper(upper: string, options: WalkOptions = {}): AsyncGenerator<UpperEntry> {
  const native = berthFs();
  const root = native.openRoot(upper);
  try {
    yield* walkDir(native, root, '', options);
  } finally {
    native.close(root);
  }
}

async function* walkDir(native: BerthFs, dirFd: number, dir: string, options: WalkOptions): AsyncGenerator<UpperEntry> {
  // Byte strings compare by char code, which is byte order.
  for (const name of native.readDir(dirFd).sort()) {
    const rel = join(dir, name);
    const fd = openEntry(native, dirFd, name);
    if (fd === undefined) continue;
    try {
      const stats = fstatSync(fd);
      // One listing answers every question about xattrs: most entries have none.
      const xattrNames = native.listxattr(fd, '').sort();
      refuseIndirection(xattrNames, rel);
      const whiteout = isWhiteout(stats);
      const opaque = stats.isDirectory() && xattrNames.includes(OPAQUE_XATTR) && isOpaque(native, fd);
      await options.onOpened?.(rel);
      yield { rel, stats, whiteout, opaque, xattrNames, fd };
      if (stats.isDirectory()) yield* walkDir(native, fd, rel, options);
    } finally {
      native.close(fd);
    }
  }
}

/** The entry `name` of the directory `dirFd` holds, itself; undefined once it is gone. */
function openEntry(native: BerthFs, dirFd: number, name: string): number | undefined {
  try {
    return native.openBeneath(dirFd, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Whether the object `fd` holds (rel "") or `rel` below it is an opaque directory. */
function isOpaque(native: BerthFs, fd: number, rel = ''): boolean {
  return native.getxattr(fd, rel, OPAQUE_XATTR)?.toString('latin1') === 'y';
}

function refuseIndirection(xattrNames: readonly string[], rel: string): void {
  for (const name of ['trusted.overlay.redirect', 'trusted.overlay.metacopy']) {
    if (xattrNames.includes(name)) {
      throw new BerthError(
        'failed-precondition',
        `${fromBytePath(rel)}: the upper dir uses overlay's ${name.slice(OVERLAY_XATTR.length)} feature, which berth cannot turn into a layer; mount with redirect_dir=off,metacopy=off`,
      );
    }
  }
}

/**
 * The entry's own xattrs, overlay's bookkeeping left out (rel "": the object `root` holds);
 * `names`: its xattr names when listed already.
 */
export function xattrsOf(native: BerthFs, root: number, rel: string, names?: readonly string[]): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const name of names ?? native.listxattr(root, rel).sort()) {
    if (name.startsWith(OVERLAY_XATTR)) continue;
    const value = native.getxattr(root, rel, name);
    if (value !== undefined) out.push([name, value]);
  }
  return out;
}

/**
 * docker diff: what the upper dir changed against the image's layers (`lowerDirs`, topmost
 * first, each in overlayfs form), sorted by path.
 */
export async function changes(upper: string, lowerDirs: string[]): Promise<Change[]> {
  const lower = new LowerView(lowerDirs);
  const out: Change[] = [];
  for await (const entry of walkUpper(upper)) {
    const shown = `/${fromBytePath(entry.rel)}`;
    if (entry.whiteout) {
      // Overlay writes a whiteout only over a lower entry; check anyway (a stray device from a
      // layer-less upper would otherwise show as a deletion of nothing).
      if (await lower.exists(entry.rel)) out.push({ kind: 'D', path: shown });
      continue;
    }
    const inImage = await lower.exists(entry.rel);
    // A directory of the image is in the upper dir only because it or something below it
    // changed: docker shows it as changed.
    out.push({ kind: inImage ? 'C' : 'A', path: shown });
    // A directory of the image deleted and made again hides what the image had in it: each
    // hidden entry the new directory does not have again is a deletion.
    if (entry.opaque && inImage) {
      const kept = new Set(berthFs().readDir(entry.fd));
      for (const name of await lower.list(entry.rel)) {
        if (!kept.has(name)) out.push({ kind: 'D', path: `${shown}/${fromBytePath(name)}` });
      }
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The image's filesystem as its stacked layer dirs show it (what overlay would merge). */
export class LowerView {
  /** The layer dirs as byte strings, to join with byte-string paths. */
  private readonly layers: Array<{ dir: string; byteDir: string }>;

  constructor(layerDirs: string[]) {
    this.layers = layerDirs.map((dir) => ({ dir, byteDir: Buffer.from(dir, 'utf8').toString('latin1') }));
  }

  /** Whether `rel` (a byte string) is in the merged view of the layers. */
  async exists(rel: string): Promise<boolean> {
    for (const layer of this.layers) {
      const stats = await lstatOrUndefined(join(layer.byteDir, rel));
      if (stats) return !isWhiteout(stats);
      if (await this.hidesBelow(layer, rel)) return false;
    }
    return false;
  }

  /** Names in directory `rel` of the merged view, whiteouts applied. */
  async list(rel: string): Promise<string[]> {
    const seen = new Set<string>();
    const present = new Set<string>();
    for (const layer of this.layers) {
      const dir = join(layer.byteDir, rel);
      const stats = await lstatOrUndefined(dir);
      if (stats) {
        if (!stats.isDirectory()) break;
        for (const b of await fs.readdir(bytes(dir), { encoding: 'buffer' })) {
          const name = b.toString('latin1');
          if (seen.has(name)) continue;
          seen.add(name);
          if (!isWhiteout(await fs.lstat(bytes(join(dir, name))))) present.add(name);
        }
        if (opaqueIn(layer.dir, rel)) break;
      } else if (await this.hidesBelow(layer, rel)) {
        break;
      }
    }
    return [...present].sort();
  }

  /**
   * Whether this layer, lacking `rel` itself, hides it in the layers below: an ancestor that is
   * a whiteout or not a directory, or an opaque directory.
   */
  private async hidesBelow(layer: { dir: string; byteDir: string }, rel: string): Promise<boolean> {
    const parts = rel.split('/');
    for (let i = parts.length - 1; i > 0; i--) {
      const ancestor = parts.slice(0, i).join('/');
      const stats = await lstatOrUndefined(join(layer.byteDir, ancestor));
      if (!stats) continue;
      if (!stats.isDirectory() || opaqueIn(layer.dir, ancestor)) return true;
    }
    return false;
  }
}

function opaqueIn(layerDir: string, rel: string): boolean {
  const native = berthFs();
  const root = native.openRoot(layerDir);
  try {
    return isOpaque(native, root, rel);
  } finally {
    native.close(root);
  }
}

async function lstatOrUndefined(bytePath: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(bytes(bytePath));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}
