// Directories a layer holds without listing them. A tar may carry `tmp/x` and no `tmp/` entry
// (tools that append files to an image make such layers); unpacking makes `tmp` on the way, 0755
// and root's. Docker and containerd unpack onto the mounted layers below, where `tmp` is already
// there, and containerd, unpacking into an overlay upper dir, gives the directories it makes the
// attributes the lower layers have for them. Here each layer has a directory of its own, so
// without the same step the bare `tmp` of the new layer would hide the lower one's mode and owner
// in the container (a 1777 /tmp turned 0755). A directory no layer below has gets the epoch as
// its times, as containerd gives it, so a snapshot does not depend on when it was unpacked.
//
// Lookups go through descriptors that never follow a symlink, writes through the layer's root
// (berth_fs), as in apply.ts.

import { berthFs, type BerthFs } from '../native';
import { shownIn, statIn, timesOf } from './lower-links';
import { OPAQUE_XATTR, OVERLAY_XATTR } from './types';

/** Give each of `implied` (AppliedLayer's impliedDirs) in the layer at `dir` what the layers below (`lowers`, topmost first) have for it. */
export function inheritImpliedDirs(dir: string, lowers: readonly string[], implied: readonly string[]): void {
  if (implied.length === 0) return;
  const fs = berthFs();
  const root = fs.openRoot(dir);
  const lowerRoots: number[] = [];
  try {
    for (const lower of lowers) lowerRoots.push(fs.openRoot(lower));
    for (const rel of implied) {
      // Through a symlink of the layer, or replaced by a later entry: not a directory made here.
      if (!statIn(fs, root, rel)?.isDirectory()) continue;
      // The directory overlay shows below, if any: none through an opaque directory of this
      // layer, nor where a layer below deleted or replaced it or a directory above it.
      const below = opaqueAbove(fs, root, rel) ? undefined : shownIn(fs, lowerRoots, rel);
      if (below?.st.isDirectory()) {
        const { root: r, st } = below;
        fs.makeDir(root, rel, Number(st.mode) & 0o7777, Number(st.uid), Number(st.gid));
        for (const key of fs.listxattr(r, rel)) {
          // Overlay's own (an opaque mark would hide the layers below through the new one).
          if (key.startsWith(OVERLAY_XATTR)) continue;
          const value = fs.getxattr(r, rel, key);
          if (value) fs.setxattr(root, rel, key, value);
        }
        fs.utimes(root, rel, ...timesOf(st), true);
      } else {
        fs.utimes(root, rel, 0, 0, 0, 0, true);
      }
    }
  } finally {
    for (const r of lowerRoots) fs.close(r);
    fs.close(root);
  }
}

/** A directory above `rel` in the layer is opaque: nothing below shows through it. */
function opaqueAbove(fs: BerthFs, root: number, rel: string): boolean {
  for (let slash = rel.indexOf('/'); slash > 0; slash = rel.indexOf('/', slash + 1)) {
    if (fs.getxattr(root, rel.slice(0, slash), OPAQUE_XATTR)?.toString() === 'y') return true;
  }
  return false;
}
