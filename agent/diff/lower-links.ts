// Hard links into the layers below. A layer tar may hard-link a file it does not hold itself, one
// a lower layer has (the OCI spec leaves it open, image-spec#1204; builders produce it). Docker
// and containerd unpack a layer onto the mounted layers below, so overlay copies the target up
// into the new layer and links it there; umoci unpacks into one tree where the target is simply
// present. Both end with the target and the link sharing an inode in the container. Here each
// layer is unpacked into a directory of its own, so the same is done by hand: the target is
// found in the layers below as overlay would find it (the topmost that has it, unless a whiteout,
// an opaque directory or a non-directory above hides it), copied up into the new layer (content,
// owner, mode, times, xattrs; missing parent directories as the lower ones are), then linked.
//
// Every lookup goes through descriptors that never follow a symlink (openBeneath), and every
// write through the new layer's root (berth_fs), as apply.ts does.

import { closeSync, fchmodSync, fchownSync, fstatSync, read, write, type BigIntStats } from 'node:fs';
import { BerthError } from '../../proto/errors';
import { berthFs, fromBytePath, type BerthFs } from '../native';
import { OPAQUE_XATTR, OVERLAY_XATTR } from './types';

/**
 * Make each link of the layer in `dir` whose target is in a layer below (`lowers`: their
 * directories, topmost first). Resolves to the bytes copied up (they count as the layer's).
 */
export async function resolveLowerLinks(dir: string, lowers: readonly string[], links: ReadonlyArray<{ name: string; target: string }>): Promise<number> {
  if (links.length === 0) return 0;
  const fs = berthFs();
  const root = fs.openRoot(dir);
  const lowerRoots: number[] = [];
  let copied = 0;
  const touched = new Map<string, [number, number, number, number]>();
  try {
    for (const lower of lowers) lowerRoots.push(fs.openRoot(lower));
    for (const { name, target } of links) {
      // A later entry of the layer wrote the name: it replaced the link, as in a tar.
      if (statIn(fs, root, name)) continue;
      // The layer itself first: a later entry may have made the target, or deleted it (a
      // whiteout, an opaque directory), which hides what the layers below have.
      const found = shownIn(fs, [root, ...lowerRoots], target);
      if (!found) {
        throw new BerthError('invalid-argument', `hard link ${quote(name)}: target ${quote(target)} does not exist in the layer or the layers below it`);
      }
      if (!found.st.isFile()) throw new BerthError('invalid-argument', `hard link target ${quote(target)} is not a regular file`);
      // The directories the link and a copied-up target go into keep the times the tar gave them.
      for (const rel of [name, target]) keepTimes(fs, root, parentOf(rel), touched);
      if (found.root !== root) copied += await copyUp(fs, [root, ...lowerRoots], found.root, target, root);
      fs.link(root, name, target);
    }
    // Deepest first: restoring a directory's times does not move its parent's.
    for (const [dir, times] of [...touched].sort((a, b) => b[0].length - a[0].length)) fs.utimes(root, dir, ...times, true);
    return copied;
  } finally {
    for (const r of lowerRoots) fs.close(r);
    fs.close(root);
  }
}

const parentOf = (rel: string): string => rel.slice(0, Math.max(0, rel.lastIndexOf('/')));

/** Remember the times of `dir` in the layer (if it is a directory there) before anything is added to it. */
function keepTimes(fs: BerthFs, root: number, dir: string, touched: Map<string, [number, number, number, number]>): void {
  if (touched.has(dir)) return;
  const st = statIn(fs, root, dir);
  if (st?.isDirectory()) touched.set(dir, timesOf(st));
}

/**
 * The layer overlay would show `rel` from (`roots`: topmost first) and what it is there, or
 * undefined when none shows it: absent, whited out, or hidden by an opaque directory or by a
 * non-directory (a file, a symlink) where a directory of the path was.
 */
export function shownIn(fs: BerthFs, roots: readonly number[], rel: string): { root: number; st: BigIntStats } | undefined {
  const parts = rel.split('/');
  for (const root of roots) {
    let opaque = false;
    let present = true;
    for (let k = 1; k < parts.length; k++) {
      const dir = parts.slice(0, k).join('/');
      const st = statIn(fs, root, dir);
      if (!st) {
        present = false;
        break;
      }
      // A file (or a whiteout) where a directory of the path was: nothing below shows through.
      if (!st.isDirectory()) return undefined;
      if (fs.getxattr(root, dir, OPAQUE_XATTR)?.toString() === 'y') opaque = true;
    }
    if (present) {
      const st = statIn(fs, root, rel);
      if (st) {
        if (st.isCharacterDevice() && st.rdev === 0n) return undefined; // a whiteout: deleted here
        return { root, st };
      }
    }
    if (opaque) return undefined;
  }
  return undefined;
}

/**
 * Copy `rel` from the lower layer `from` into the new layer `root`, its missing parents as overlay
 * shows them (`roots`: the new layer, then the lower ones, topmost first); the bytes copied. Read
 * and written in chunks on libuv's pool: a large file does not hold up the agent.
 */
async function copyUp(fs: BerthFs, roots: readonly number[], from: number, rel: string, root: number): Promise<number> {
  const parts = rel.split('/');
  const made: Array<[string, BigIntStats]> = [];
  for (let k = 1; k < parts.length; k++) {
    const dir = parts.slice(0, k).join('/');
    if (statIn(fs, root, dir)) continue;
    const shown = shownIn(fs, roots, dir);
    const like = shown?.st.isDirectory() ? shown.st : undefined;
    fs.makeDir(root, dir, Number(like?.mode ?? 0o755n) & 0o7777, Number(like?.uid ?? 0n), Number(like?.gid ?? 0n));
    if (like) made.push([dir, like]);
  }
  const path = fs.openBeneath(from, rel);
  let source: number | undefined;
  let bytes = 0;
  try {
    source = fs.openRead(path);
    const st = fstatSync(source, { bigint: true });
    // Private until written; owner, then mode (chown clears setuid bits), xattrs and times after.
    const target = fs.createFile(root, rel, 0o600);
    try {
      const buffer = Buffer.allocUnsafe(1024 * 1024);
      for (let n; (n = await readAsync(source, buffer)) > 0;) {
        for (let off = 0; off < n;) off += await writeAsync(target, buffer, off, n - off);
        bytes += n;
      }
      fchownSync(target, Number(st.uid), Number(st.gid));
      fchmodSync(target, Number(st.mode) & 0o7777);
      for (const key of fs.listxattr(from, rel)) {
        if (key.startsWith(OVERLAY_XATTR)) continue;
        const value = fs.getxattr(from, rel, key);
        if (value) fs.fsetxattr(target, key, value);
      }
      fs.futimes(target, ...timesOf(st));
    } finally {
      fs.close(target);
    }
  } finally {
    if (source !== undefined) closeSync(source);
    fs.close(path);
  }
  // The parents' times last, deepest first: making what is inside them moved theirs.
  for (const [dir, like] of made.reverse()) fs.utimes(root, dir, ...timesOf(like), true);
  return bytes;
}

const readAsync = (fd: number, buffer: Buffer): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buffer, 0, buffer.length, null, (err, n) => (err ? reject(err) : resolve(n))));
const writeAsync = (fd: number, buffer: Buffer, offset: number, length: number): Promise<number> =>
  new Promise((resolve, reject) => write(fd, buffer, offset, length, null, (err, n) => (err ? reject(err) : resolve(n))));

/** The object at `rel` (not followed), or undefined when there is none or a symlink is on the way. */
export function statIn(fs: BerthFs, root: number, rel: string): BigIntStats | undefined {
  let fd: number;
  try {
    fd = fs.openBeneath(root, rel);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR' || code === 'EXDEV') return undefined;
    throw err;
  }
  try {
    return fstatSync(fd, { bigint: true });
  } finally {
    fs.close(fd);
  }
}

export function timesOf(st: BigIntStats): [number, number, number, number] {
  const split = (ns: bigint): [number, number] => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
  return [...split(st.atimeNs), ...split(st.mtimeNs)];
}

const quote = (bytes: string): string => JSON.stringify(fromBytePath(bytes));
