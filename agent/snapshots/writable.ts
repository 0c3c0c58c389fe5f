// A container's writable layer and its mount: the image's layer snapshots as overlay lower dirs
// (topmost first) under the container's own upper dir, mounted at <container>/rootfs.
//
// The writable layer lives in a directory its caller owns (the container's), so that removing a
// container is removing its directory; the snapshotter decides what is in it and how it mounts.

import { statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { berthFs } from '../native';
import type { WritableLayer } from './types';

export const writableLayer = (containerDir: string): WritableLayer => ({
  upper: path.join(containerDir, 'upper'),
  work: path.join(containerDir, 'work'),
  merged: path.join(containerDir, 'rootfs'),
});

export async function prepareWritable(p: WritableLayer): Promise<void> {
  for (const dir of [p.upper, p.work, p.merged]) await fs.mkdir(dir, { recursive: true, mode: 0o755 });
}

/** Mount unless mounted already (an adopted container's rootfs stays mounted while it runs). */
export function mountRootfs(p: WritableLayer, lowers: string[], volatile = false): void {
  if (isMounted(p.merged)) return;
  berthFs().mountOverlay(p.merged, lowers, p.upper, p.work, volatile);
}

export function unmountRootfs(p: WritableLayer): void {
  if (!isMounted(p.merged)) return;
  try {
    berthFs().unmount(p.merged, false);
  } catch (err) {
    // Something still holds it (a process of the container that escaped its kill): detach it
    // lazily rather than leave the container impossible to remove.
    if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
    berthFs().unmount(p.merged, true);
  }
}

/**
 * Whether an overlay (or anything of another filesystem) is mounted on `target`: its device
 * differs from its parent directory's. Cheaper than reading /proc/self/mountinfo, whose cost
 * grows with every container's mount on the host.
 */
export function isMounted(target: string): boolean {
  try {
    return statSync(target).dev !== statSync(path.dirname(target)).dev;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Bytes of the writable layer: file sizes as `du -sb` counts them (apparent size, inodes once). */
export async function layerSize(dir: string): Promise<number> {
  const seen = new Set<number>();
  let total = 0;
  const walk = async (at: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(at, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(at, entry.name);
      const st = await fs.lstat(full);
      if (st.nlink > 1 && !st.isDirectory()) {
        if (seen.has(st.ino)) continue;
        seen.add(st.ino);
      }
      total += st.size;
      if (st.isDirectory()) await walk(full);
    }
  };
  total += (await fs.lstat(dir)).size;
  await walk(dir);
  return total;
}
