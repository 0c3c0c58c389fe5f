// The kubelet's local storage eviction for emptyDir: a disk-backed emptyDir with a sizeLimit is
// measured now and then (its disk usage, as du counts it: allocated blocks, each inode once); a
// pod whose emptyDir holds more than its limit is evicted: its containers are stopped, it fails
// with reason Evicted and the kubelet's message, and its owner makes another. A memory-backed
// emptyDir needs none of this: its tmpfs is the size of its limit.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parseMemory, type Pod, type Volume } from '../../proto/resources';

/** How often a pod's limited emptyDirs are measured (the kubelet's housekeeping is ~10 s). */
export const LOCAL_STORAGE_CHECK_MS = 5000;

/** The disk-backed emptyDirs of a pod that have a sizeLimit, with it in bytes. */
export function limitedEmptyDirs(pod: Pod): Array<{ volume: Volume; limit: number }> {
  return (pod.spec.volumes ?? [])
    .filter((v) => v.emptyDir && v.emptyDir.medium !== 'Memory' && v.emptyDir.sizeLimit !== undefined)
    .map((volume) => ({ volume, limit: parseMemory(volume.emptyDir!.sizeLimit!, `volume ${volume.name} emptyDir.sizeLimit`) }));
}

/** The kubelet's eviction message for the first emptyDir over its limit, or undefined. Pure. */
export function emptyDirBreach(pod: Pod, usage: ReadonlyMap<string, number>): string | undefined {
  for (const { volume, limit } of limitedEmptyDirs(pod)) {
    if ((usage.get(volume.name) ?? 0) > limit) return `Usage of EmptyDir volume "${volume.name}" exceeds the limit "${volume.emptyDir!.sizeLimit}". `;
  }
  return undefined;
}

/** Bytes a directory tree takes on disk (allocated blocks; a hard-linked file once; symlinks not followed). */
export async function diskUsage(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (p: string): Promise<void> => {
    const st = await fs.lstat(p).catch(() => undefined);
    if (!st) return;
    const inode = `${st.dev}:${st.ino}`;
    if (seen.has(inode)) return;
    seen.add(inode);
    total += st.blocks * 512;
    if (!st.isDirectory()) return;
    const names = await fs.readdir(p).catch(() => [] as string[]);
    for (const name of names) await walk(path.join(p, name));
  };
  await walk(dir);
  return total;
}
