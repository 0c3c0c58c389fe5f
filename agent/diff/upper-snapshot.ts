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
import type { Writable } from 'node:stream';
import { BerthError } from '../../proto/errors';
import { berthFs } from '../native';
import type { Digest } from '../oci';
import type { UpperEntry } from './changes';
import { layerFromUpper, type LayerWriteOptions, tarMtime } from './write-layer';
import { OPAQUE_XATTR, OVERLAY_XATTR } from './types';


export type EntryKind = 'dir' | 'whiteout' | 'socket' | 'other';

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
 * How one entry is settled (pure): `opaque` when it is a directory with opaque=y. A whiteout
 * keeps no xattr at all (its tar entry carries none) and its times (the tar gives it none).
 */
export function entryFix(kind: EntryKind, xattrNames: readonly string[], opaque: boolean, mtime: number): EntryFix {
  if (kind === 'socket') return { remove: true, dropXattrs: [] };
  if (kind === 'whiteout') return { remove: false, dropXattrs: [...xattrNames] };
  const keep = (name: string) => !name.startsWith(OVERLAY_XATTR) || (kind === 'dir' && opaque && name === OPAQUE_XATTR);
  return { remove: false, dropXattrs: xattrNames.filter((name) => !keep(name)), time: mtime };
}

/** An entry as the tar's walk saw it: all settling needs, no descriptor kept. */
interface SeenEntry {
  rel: string;
  fix: EntryFix;
  isDir: boolean;
  /** Content bytes of a regular file, 0 otherwise. */
  size: number;
  /** Inode of a regular file with more than one name (counted once). */
  linkedInode?: number;
}

function seen(entry: UpperEntry, options: LayerWriteOptions): SeenEntry {
  const { rel, stats, whiteout, opaque, xattrNames } = entry;
  const kind: EntryKind = whiteout ? 'whiteout' : stats.isDirectory() ? 'dir' : stats.isSocket() ? 'socket' : 'other';
  return {
    rel, isDir: stats.isDirectory(), fix: entryFix(kind, xattrNames, opaque, tarMtime(stats, options)),
    size: stats.isFile() ? stats.size : 0, ...(stats.isFile() && stats.nlink > 1 ? { linkedInode: stats.ino } : {}),
  };
}

/** A build step's upper dir as storeLayer takes a layer: its tar, then its snapshot. */
export interface UpperLayer {
  /** The layer tar (write-layer.ts), remembering what settling will need. */
  writeTar(out: Writable): Promise<{ diffId: Digest; size: number }>;
  /**
   * After writeTar: move the upper dir's entries into `into` (an empty directory, the snapshot's
   * root) and settle them there, from what the tar's walk saw. Returns the layer's content bytes
   * (regular files, each inode once: what unpacking counts), or undefined, touching nothing, when
   * `into` is on another filesystem (the caller unpacks the blob instead). On failure `into` is
   * half done: the caller throws it away.
   */
  fill(into: string, maxLayerBytes: number): Promise<number | undefined>;
}

/**
 * `upper`, quiescent (the step's container gone), as a layer. Between writeTar and fill nothing
 * may change it: what the tar's walk saw is what fill settles.
 */
export function upperLayer(upper: string, options: LayerWriteOptions = {}): UpperLayer {
  let entries: SeenEntry[] | undefined;
  return {
    async writeTar(out) {
      const seenNow: SeenEntry[] = [];
      const written = await layerFromUpper(upper, out, { ...options, onEntry: (entry) => seenNow.push(seen(entry, options)) });
      entries = seenNow;
      return written;
    },
    async fill(into, maxLayerBytes) {
      if (!entries) throw new BerthError('internal', `${upper}: settled as a snapshot before its tar was written`);
      return settle(upper, into, entries, maxLayerBytes);
    },
  };
}

async function settle(upper: string, into: string, entries: readonly SeenEntry[], maxLayerBytes: number): Promise<number | undefined> {
  if ((await fs.stat(upper)).dev !== (await fs.stat(into)).dev) return undefined;
  let bytes = 0;
  const inodes = new Set<number>();
  for (const e of entries) {
    if (e.fix.remove || (e.linkedInode !== undefined && inodes.has(e.linkedInode))) continue;
    if (e.linkedInode !== undefined) inodes.add(e.linkedInode);
    bytes += e.size;
  }
  if (bytes > maxLayerBytes) throw new BerthError('resource-exhausted', `layer content exceeds the limit of ${maxLayerBytes} bytes (maxLayerBytes)`);
  // Renaming keeps every time (it changes only the moved entry's ctime). The same device may
  // still be another mount (a bind-mounted data root): EXDEV on the first one means "unpack".
  let first = true;
  for (const name of await fs.readdir(upper, { encoding: 'buffer' })) {
    try {
      await fs.rename(Buffer.concat([Buffer.from(`${upper}/`), name]), Buffer.concat([Buffer.from(`${into}/`), name]));
    } catch (err) {
      if (first && (err as NodeJS.ErrnoException).code === 'EXDEV') return undefined;
      throw err;
    }
    first = false;
  }
  const native = berthFs();
  const root = native.openRoot(into);
  try {
    for (const { rel, fix } of entries) {
      // A removed directory's contents went with it.
      if (fix.remove) native.remove(root, rel);
    }
    for (const { rel, fix, isDir } of entries) {
      if (fix.remove) continue;
      for (const name of fix.dropXattrs) native.removexattr(root, rel, name);
      if (fix.time !== undefined && !isDir) native.utimes(root, rel, fix.time, 0, fix.time, 0, false);
    }
    // Directories last, deepest first (the walk lists parents first): settling their contents moved them.
    for (let i = entries.length - 1; i >= 0; i--) {
      const { rel, fix, isDir } = entries[i]!;
      if (isDir && fix.time !== undefined) native.utimes(root, rel, fix.time, 0, fix.time, 0, false);
    }
  } finally {
    native.close(root);
  }
  return bytes;
}
