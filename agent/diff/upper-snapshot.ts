// A build step's overlay upper dir made into its layer's snapshot in place, instead of unpacking
// the layer blob written from it: the same directory tree, minus the round trip through gzip and
// the tar reader.
//
// The snapshot must be exactly what unpacking that layer's tar (write-layer.ts, then apply.ts)
// gives, since other agents pulling the image see the unpacked form. The upper dir already holds
// overlayfs' form of the diff (0/0 character devices for deletions, trusted.overlay.opaque=y on
// opaque directories), the same owners, modes, xattrs, link targets, device numbers and hard-link
// structure. What differs, and is settled here:
//   - overlay's own bookkeeping xattrs (origin, impure, uuid on the root...): the tar leaves out
//     every trusted.overlay.* and unpacking sets only opaque=y, so the rest are removed;
//   - times: the tar holds whole seconds, clamped to SOURCE_DATE_EPOCH, and unpacking sets them
//     as atime and mtime with 0 ns; set so here, directories after their contents;
//   - sockets: the tar leaves them out, so they are removed;
//   - the root: the tar has no entry for it, so the entries are moved into the snapshot's own
//     fresh root rather than the upper dir becoming it.
// Whiteouts stay the devices overlay made (mode 0, root's, as unpacking makes them; overlay may
// share one inode among them, which nothing reading the layer can tell).
//
// The upper dir must be quiescent (the step's container gone) and already written as the layer's
// tar, whose writer refused what cannot be a layer (a `.wh.` name, redirect or metacopy entries).

import * as fs from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { BerthError } from '../../proto/errors';
import { berthFs } from '../native';
import { walkUpper } from './changes';
import { tarMtime } from './write-layer';

const OVERLAY_XATTR = 'trusted.overlay.';
const OPAQUE_XATTR = 'trusted.overlay.opaque';

export interface UpperSnapshotOptions {
  /** As the layer tar was written with (LayerWriteOptions.maxMtime). */
  maxMtime?: number;
  /** Content bytes past which the layer is refused, as unpacking refuses it. */
  maxLayerBytes: number;
}

/** What settling one entry of the upper dir takes. */
export interface EntryFix {
  /** The tar leaves the entry out: remove it. */
  remove: boolean;
  /** Xattrs to remove. */
  dropXattrs: string[];
  /** Seconds to set as atime and mtime (0 ns); undefined: leave the times. */
  time?: number;
}

/**
 * How one entry is settled (pure): `xattrs` are its xattr names with the value of the opaque one.
 * A whiteout keeps no xattr at all (its tar entry carries none) and its times (the tar gives it none).
 */
export function entryFix(kind: 'dir' | 'whiteout' | 'socket' | 'other', xattrs: ReadonlyArray<[string, Buffer | undefined]>, mtime: number): EntryFix {
  if (kind === 'socket') return { remove: true, dropXattrs: [] };
  if (kind === 'whiteout') return { remove: false, dropXattrs: xattrs.map(([name]) => name) };
  const keep = ([name, value]: [string, Buffer | undefined]) =>
    !name.startsWith(OVERLAY_XATTR) || (kind === 'dir' && name === OPAQUE_XATTR && value?.toString('latin1') === 'y');
  return { remove: false, dropXattrs: xattrs.filter((x) => !keep(x)).map(([name]) => name), time: mtime };
}

const kindOf = (stats: Stats, whiteout: boolean): Parameters<typeof entryFix>[0] =>
  whiteout ? 'whiteout' : stats.isDirectory() ? 'dir' : stats.isSocket() ? 'socket' : 'other';

/**
 * Move the entries of `upper` into `into` (an empty directory, the snapshot's root) and settle
 * them there as described above. Returns the layer's content bytes (regular files, each inode
 * once: what unpacking counts), or undefined, touching nothing, when `into` is on another
 * filesystem than `upper` (the caller unpacks the blob instead). On failure `into` is half done:
 * the caller throws it away.
 */
export async function upperToSnapshot(upper: string, into: string, options: UpperSnapshotOptions): Promise<number | undefined> {
  if ((await fs.stat(upper)).dev !== (await fs.stat(into)).dev) return undefined;
  for (const name of await fs.readdir(upper, { encoding: 'buffer' })) {
    await fs.rename(Buffer.concat([Buffer.from(`${upper}/`), name]), Buffer.concat([Buffer.from(`${into}/`), name]));
  }
  const native = berthFs();
  const root = native.openRoot(into);
  let bytes = 0;
  try {
    const inodes = new Set<number>();
    // Directories' times are set last, deepest first: settling their contents moves them.
    const dirs: Array<[string, number]> = [];
    for await (const { rel, stats, whiteout, fd } of walkUpper(into)) {
      const names = native.listxattr(fd, '');
      const xattrs = names.map((name): [string, Buffer | undefined] => [name, name === OPAQUE_XATTR ? native.getxattr(fd, '', name) : undefined]);
      const fix = entryFix(kindOf(stats, whiteout), xattrs, tarMtime(stats, options));
      if (fix.remove) {
        native.remove(root, rel);
        continue;
      }
      for (const name of fix.dropXattrs) native.removexattr(root, rel, name);
      if (stats.isFile() && !inodes.has(stats.ino)) {
        if (stats.nlink > 1) inodes.add(stats.ino);
        bytes += stats.size;
        if (bytes > options.maxLayerBytes) {
          throw new BerthError('resource-exhausted', `layer content exceeds the limit of ${options.maxLayerBytes} bytes (maxLayerBytes)`);
        }
      }
      if (fix.time === undefined) continue;
      if (stats.isDirectory()) dirs.push([rel, fix.time]);
      else native.utimes(root, rel, fix.time, 0, fix.time, 0, false);
    }
    for (const [rel, time] of dirs.reverse()) native.utimes(root, rel, time, 0, time, 0, false);
  } finally {
    native.close(root);
  }
  return bytes;
}
