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
// The upper dir must be quiescent (the step's container gone). It is settled first and its tar
// written after, from the snapshot: settled, the tree gives the same tar (the times are already
// the tar's, and the tar leaves out what settling removes), and the step after need not wait
// for the tar -- only for the snapshot.

import * as fs from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { BerthError } from '../../proto/errors';
import { berthFs } from '../native';
import type { Digest } from '../oci';
import { type UpperEntry, walkUpper } from './changes';
import { layerFromUpper, type LayerWriteOptions, refuseWhiteoutName, tarMtime } from './write-layer';
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

/** A build step's upper dir as storeLayerLater takes a layer: its snapshot first, then its tar. */
export interface UpperLayer {
  /**
   * Move the upper dir's entries into `into` (an empty directory, the snapshot's root) and settle
   * them there. Returns the layer's content bytes (regular files, each inode once: what unpacking
   * counts), or undefined, touching nothing, when `into` is on another filesystem (the caller
   * unpacks the blob instead). Refuses what cannot be a layer (a `.wh.` name, redirect or metacopy
   * entries) as the tar's writer does. On failure `into` is half done: the caller throws it away.
   */
  settleInto(into: string, maxLayerBytes: number): Promise<number | undefined>;
  /**
   * The layer tar (write-layer.ts): of the settled snapshot once settleInto has moved the entries
   * there (the very tar the upper dir gives: settling changes nothing a tar records), else of the
   * upper dir. Only reads: the snapshot may meanwhile be a lower dir of the next step.
   */
  writeTar(out: Writable): Promise<{ diffId: Digest; size: number }>;
}

/** `upper`, quiescent (the step's container gone), as a layer. */
export function upperLayer(upper: string, options: LayerWriteOptions = {}): UpperLayer {
  let settledIn: string | undefined;
  const linkTargets = new Map<string, string>();
  return {
    async settleInto(into, maxLayerBytes) {
      const entries: SeenEntry[] = [];
      const native = berthFs();
      for await (const entry of walkUpper(upper, options)) {
        refuseWhiteoutName(entry.rel);
        entries.push(seen(entry, options));
        // Read now, before settling sets the link's times: a readlink later would move its atime.
        if (entry.stats.isSymbolicLink()) linkTargets.set(entry.rel, native.readLink(entry.fd));
      }
      const bytes = await settle(upper, into, entries, maxLayerBytes);
      if (bytes !== undefined) settledIn = into;
      return bytes;
    },
    writeTar: (out) => layerFromUpper(settledIn ?? upper, out, { ...options, linkTargets }),
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
