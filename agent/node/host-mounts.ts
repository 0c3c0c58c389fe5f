// The host mounts a pod's volumes need, as side effects behind a small interface: a tmpfs for
// memory-backed volumes, a bind mount of a descriptor (a subPath resolved inside its volume, so
// that what is mounted is the object that was checked, not whatever a path names a moment later),
// and unmounting everything below a pod's directory.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { berthFs } from '../native';

const run = promisify(execFile);

export interface HostMounts {
  /** A tmpfs at `target` (an existing directory); sizeBytes: its most, absent: the kernel's default (half of RAM). */
  mountTmpfs(target: string, options: { sizeBytes?: number; mode: number; gid?: number }): Promise<void>;
  /** Bind-mount the object a descriptor of this process holds onto `target` (an existing file or directory). */
  bindDescriptor(fd: number, target: string): Promise<void>;
  /** Whether something is mounted exactly at `target`. */
  isMountPoint(target: string): boolean;
  /** The mount points at or below `dir`. */
  mountsUnder(dir: string): string[];
  /** Unmount every mount at or below `dir`, deepest first (lazily: a busy one goes once released). */
  unmountUnder(dir: string): void;
}

export const linuxHostMounts: HostMounts = {
  async mountTmpfs(target, { sizeBytes, mode, gid }) {
    const options = ['nosuid', 'nodev', `mode=${mode.toString(8)}`, ...(sizeBytes !== undefined ? [`size=${sizeBytes}`] : []), ...(gid !== undefined ? [`gid=${gid}`] : [])];
    await run('mount', ['-t', 'tmpfs', '-o', options.join(','), 'tmpfs', target]);
  },
  async bindDescriptor(fd, target) {
    // /proc/<pid>/fd/<n> is a magic link to the object itself: the bind cannot be redirected by a
    // rename or symlink swap inside the volume after the descriptor was opened.
    await run('mount', ['--bind', `/proc/${process.pid}/fd/${fd}`, target]);
  },
  isMountPoint(target) {
    return mountPoints().includes(target);
  },
  mountsUnder(dir) {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    return mountPoints().filter((m) => m === dir || m.startsWith(prefix));
  },
  unmountUnder(dir) {
    for (const m of this.mountsUnder(dir).sort((a, b) => b.length - a.length)) {
      try {
        berthFs().unmount(m, true);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL' && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  },
};

/** The host's mount points, as /proc/self/mountinfo lists them (octal escapes decoded). */
function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean)
    .map((line) => line.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}
