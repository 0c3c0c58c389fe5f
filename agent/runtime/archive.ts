// docker cp's agent side: a path of a container's root filesystem read out as a tar, a tar
// written into a directory of it, and what a path is (stat), for running and stopped containers
// alike. Paths are resolved by the kernel inside the container's root (openat2 RESOLVE_IN_ROOT
// through the native addon): a symlink in the container, even one a running process swaps in
// meanwhile, never leads to a host file. The last component is not followed (docker cp copies a
// symlink as a symlink); the directory holding it is reached through its descriptor.
//
// A running container's root is its process's (/proc/PID/root): resolved there, paths cross the
// container's own mounts, so its volumes and bind mounts are read and written as the container
// sees them, as docker cp does.

import { spawn } from 'node:child_process';
import { closeSync, fstatSync, statSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError } from '../../proto/errors';
import { applyLayer } from '../diff';
import { berthFs, toBytePath } from '../native';
import type { VolumeMount } from './spec';

export interface PathStat {
  /** The last component's name ('/' for the root). */
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  size: number;
  mtime: string;
  linkTarget: string;
}

/** The components of a container path, cleaned (`..` never above the root). */
function parts(containerPath: string): string[] {
  const out: string[] = [];
  for (const p of containerPath.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') out.pop();
    else out.push(p);
  }
  return out;
}

/**
 * A container's root filesystem: a directory, and for a running container's /proc/PID/root, the
 * check that PID is still the container's process (a PID is reused once its process is gone),
 * made again once the root is open.
 */
export interface ContainerRoot {
  path: string;
  check?: () => void;
  /** A running container's: its /proc, /sys and /dev are the kernel's, not files of its image. */
  live?: boolean;
}

/** An O_PATH descriptor on a directory of the root (its own symlinks followed inside the root); closed by `use`'s end. */
async function withDir<T>(root: ContainerRoot, dirParts: string[], use: (fd: number) => T | Promise<T>): Promise<T> {
  const native = berthFs();
  const rootFd = native.openRoot(root.path);
  try {
    root.check?.();
    let fd: number;
    try {
      fd = native.openInRoot(rootFd, dirParts.length === 0 ? '.' : toBytePath(dirParts.join('/')));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new BerthError('not-found', `Could not find the file /${dirParts.join('/')} in container (${code})`);
    }
    try {
      return await use(fd);
    } finally {
      native.close(fd);
    }
  } finally {
    native.close(rootFd);
  }
}

const fdPath = (fd: number): string => `/proc/${process.pid}/fd/${fd}`;

/** What `containerPath` is in the root mounted at `root` (its last component not followed). */
export async function statPath(root: ContainerRoot, containerPath: string): Promise<PathStat> {
  const p = parts(containerPath);
  if (p.length === 0) return { name: '/', type: 'dir', mode: 0o755, size: 0, mtime: '', linkTarget: '' };
  return withDir(root, p.slice(0, -1), (dirFd) => {
    const native = berthFs();
    let fd: number;
    try {
      // One name, not followed; a mount point there (a volume) is entered, as the container sees it.
      fd = native.openBeneath(dirFd, toBytePath(p.at(-1)!), true);
    } catch (err) {
      throw new BerthError('not-found', `Could not find the file ${containerPath} in container (${(err as NodeJS.ErrnoException).code})`);
    }
    try {
      const st = fstatSync(fd);
      const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
      return { name: p.at(-1)!, type, mode: st.mode & 0o7777, size: st.size, mtime: st.mtime.toISOString(), linkTarget: type === 'symlink' ? native.readLink(fd) : '' };
    } finally {
      native.close(fd);
    }
  });
}

/** `containerPath` as a tar written to `out` (ended): one top-level entry named as its last component. */
export async function readPath(root: ContainerRoot, containerPath: string, out: Writable): Promise<void> {
  const p = parts(containerPath);
  const stat = await statPath(root, containerPath);
  const dirParts = p.length === 0 ? [] : p.slice(0, -1);
  await withDir(root, dirParts, async (dirFd) => {
    // The root itself goes as its contents under ".", as docker cp CONTAINER:/ does; a running
    // container's kernel filesystems (/proc, /sys, /dev) as their empty mount points, as docker's
    // view of its root shows them.
    const name = p.length === 0 ? '.' : stat.name;
    const pseudo = p.length === 0 && root.live ? ['./proc/*', './sys/*', './dev/*'].map((x) => `--exclude=${x}`) : [];
    const tar = spawn('tar', ['-C', fdPath(dirFd), '--numeric-owner', ...pseudo, '-cf', '-', '--', name], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((resolve) => tar.on('close', (code) => resolve(code ?? 1)));
    // Ended only once tar said it succeeded: a failure must reach the reader as an error, not
    // as a short archive.
    await pipeline(tar.stdout, out, { end: false });
    const code = await exited;
    // 1: a file changed while it was read (a running container's); the archive is still whole.
    if (code > 1) throw new BerthError('internal', `cannot read ${containerPath}: ${stderr.trim()}`);
    out.end();
  });
}

/**
 * Unpack a tar into the directory `containerDir` of the root (which must exist), confined to it:
 * nothing in the archive can land outside it.
 */
export async function writePath(root: ContainerRoot, containerDir: string, tar: Readable): Promise<void> {
  // The directory is reached with its symlinks followed inside the root, the last one included
  // (docker cp follows a destination that is a link to a directory).
  await withDir(root, parts(containerDir), async (dirFd) => {
    if (!fstatSync(dirFd).isDirectory()) throw new BerthError('failed-precondition', `${containerDir} is not a directory in the container`);
    await applyLayer(tar, fdPath(dirFd), { maxLayerBytes: 64 * 1024 ** 3, maxHeaderBytes: 1024 * 1024 }, { plain: true });
  });
}

/**
 * A stopped container's volumes and bind mounts, mounted over its root (a mount of its layers) as
 * its process would see them, for cp (docker mounts them too). Each destination is resolved inside
 * the root and made when missing (as runc makes it at start). Returns what unmounts them all.
 */
export function mountVolumes(root: string, volumes: readonly VolumeMount[]): () => void {
  const native = berthFs();
  const mounted: number[] = [];
  // Every one is tried, the first failure reported after.
  const unmountAll = () => {
    let first: unknown;
    for (const fd of mounted.splice(0).reverse()) {
      try {
        native.unmountAt(fd);
      } catch (err) {
        first ??= err;
      }
    }
    if (first) throw first;
  };
  // Parents before what is mounted inside them.
  const ordered = [...volumes].sort((a, b) => parts(a.destination).length - parts(b.destination).length);
  const rootFd = native.openRoot(root);
  try {
    for (const volume of ordered) {
      const dest = parts(volume.destination);
      if (dest.length === 0) continue;
      const rel = toBytePath(dest.join('/'));
      // Resolved as runc resolves a mount point: symlinks followed, inside the root.
      let target = openIfThere(rootFd, rel);
      if (target === undefined) {
        // Made as runc makes a missing mount point: a directory, or an empty file for a file.
        // Not where a symlink that leads nowhere stands: that would replace the link.
        if (isSymlink(rootFd, dest)) throw new BerthError('failed-precondition', `the mount point ${volume.destination} is a symlink to nothing`);
        if (statSync(volume.source).isDirectory()) native.mkdir(rootFd, rel, 0o755);
        else closeSync(native.createFile(rootFd, rel, 0o644));
        target = native.openInRoot(rootFd, rel);
      }
      try {
        mounted.push(native.bindMount(volume.source, target, volume.readonly));
      } finally {
        native.close(target);
      }
    }
    return unmountAll;
  } catch (err) {
    try {
      unmountAll();
    } catch {
      // the mount error is the one to report
    }
    throw new BerthError('internal', `cannot mount the container's volumes for the copy: ${(err as Error).message}`);
  } finally {
    native.close(rootFd);
  }
}

/** A descriptor on what `rel` names in the root (symlinks followed inside it), or undefined. */
function openIfThere(rootFd: number, rel: string): number | undefined {
  try {
    return berthFs().openInRoot(rootFd, rel);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Whether the last component of `parts` is itself a symlink (its directory resolved in the root). */
function isSymlink(rootFd: number, p: string[]): boolean {
  const native = berthFs();
  const dir = openIfThere(rootFd, p.length === 1 ? '.' : toBytePath(p.slice(0, -1).join('/')));
  if (dir === undefined) return false;
  try {
    const fd = native.openBeneath(dir, toBytePath(p.at(-1)!));
    try {
      return fstatSync(fd).isSymbolicLink();
    } finally {
      native.close(fd);
    }
  } catch {
    return false;
  } finally {
    native.close(dir);
  }
}
