// Layer snapshots on disk for overlayfs: <root>/<chain-hex>/fs is a lower dir, <root>/<chain-hex>/info.json
// says what it is. A snapshot in preparation lives in <root>/tmp/ until commit renames it into place.
// Writable layers live in their containers' directories (writable.ts).

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { Compression, Digest } from '../oci';
import { type AppliedLayer, applyBlob, type ApplyLimits, type ApplyStats, inheritImpliedDirs, resolveLowerLinks } from '../diff';
import type { PendingSnapshot, SnapshotInfo, Snapshotter, WritableLayer } from './types';
import { layerSize, mountRootfs, prepareWritable, unmountRootfs, writableLayer } from './writable';

const hexOf = (chainId: Digest) => chainId.slice('sha256:'.length);

export async function openOverlaySnapshotter(root: string): Promise<Snapshotter> {
  const tmp = path.join(root, 'tmp');
  // Anything in tmp/ belonged to an apply that never committed: a crash or a failed pull.
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  return new OverlaySnapshotter(root, tmp);
}

class OverlaySnapshotter implements Snapshotter {
  constructor(private readonly root: string, private readonly tmp: string) {}

  dirOf(chainId: Digest): string {
    return path.join(this.root, hexOf(chainId), 'fs');
  }

  async stat(chainId: Digest): Promise<SnapshotInfo | undefined> {
    try {
      return JSON.parse(await fs.readFile(path.join(this.root, hexOf(chainId), 'info.json'), 'utf8')) as SnapshotInfo;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async prepare(): Promise<PendingSnapshot> {
    const home = path.join(this.tmp, randomBytes(12).toString('hex'));
    await fs.mkdir(home, { mode: 0o700 });
    // The layer's root is the image's "/": 0755 unless the tar's "./" entry says otherwise.
    await fs.mkdir(path.join(home, 'fs'), { mode: 0o755 });
    return new PendingOverlaySnapshot(home, this.root);
  }

  async list(): Promise<SnapshotInfo[]> {
    const names = await fs.readdir(this.root);
    const infos = await Promise.all(
      names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => this.stat(`sha256:${n}`)),
    );
    return infos.filter((i): i is SnapshotInfo => i !== undefined);
  }

  async remove(chainId: Digest): Promise<void> {
    // Move aside first so a half-deleted tree is never visible under the chain ID.
    const doomed = path.join(this.tmp, `rm-${randomBytes(8).toString('hex')}`);
    try {
      await fs.rename(path.join(this.root, hexOf(chainId)), doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await fs.rm(doomed, { recursive: true, force: true });
  }

  lowerDirs(chainIds: readonly Digest[]): string[] {
    return [...chainIds].reverse().map((chainId) => this.dirOf(chainId));
  }

  writable(dir: string): WritableLayer {
    return writableLayer(dir);
  }

  async prepareWritable(dir: string): Promise<WritableLayer> {
    const layer = writableLayer(dir);
    await prepareWritable(layer);
    return layer;
  }

  mount(layer: WritableLayer, lowerDirs: string[], options: { volatile?: boolean } = {}): void {
    mountRootfs(layer, lowerDirs, options.volatile ?? false);
  }

  unmount(layer: WritableLayer): void {
    unmountRootfs(layer);
  }

  usage(layer: WritableLayer): Promise<number> {
    return layerSize(layer.upper);
  }
}

class PendingOverlaySnapshot implements PendingSnapshot {
  readonly dir: string;
  constructor(private readonly home: string, private readonly root: string) {
    this.dir = path.join(home, 'fs');
  }

  apply(blob: Readable, compression: Compression, limits: ApplyLimits): Promise<AppliedLayer> {
    return applyBlob(blob, compression, this.dir, limits);
  }

  async finishFromBelow(applied: ApplyStats, lowers: readonly string[]): Promise<number> {
    const copied = await resolveLowerLinks(this.dir, lowers, applied.deferredLinks ?? []);
    // After the links: copying a target up into a directory moves its times.
    inheritImpliedDirs(this.dir, lowers, applied.impliedDirs ?? []);
    return copied;
  }

  async commit(info: SnapshotInfo): Promise<void> {
    await fs.writeFile(path.join(this.home, 'info.json'), JSON.stringify(info));
    try {
      await fs.rename(this.home, path.join(this.root, hexOf(info.chainId)));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Another pull committed the same layer first: theirs is as good as ours.
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return this.abort();
      throw err;
    }
  }

  async abort(): Promise<void> {
    await fs.rm(this.home, { recursive: true, force: true });
  }
}
