// Typed loader for the berth_fs addon (berth_fs.c): filesystem calls confined to a root
// directory with openat2(RESOLVE_IN_ROOT), used to unpack untrusted layers, and the mount,
// namespace and xattr calls Node lacks. Loaded once, on first use; no state of its own. The
// bottom of the agent: it imports nothing of the agent or of proto/.
//
// Conventions of every function taking (root, rel):
// - `root` is a descriptor from openRoot; `rel` is resolved inside it, `..` and symlinks
//   included, by the kernel at the moment of the call. The last component is never followed.
// - Paths inside the root are byte strings: one char per byte (latin1), so names that are not
//   UTF-8 survive. Use `toBytePath` on ordinary strings. "." and ".." components are refused
//   (clean names first); rel "" means the root itself where a function allows it.
// - Create functions make missing parent directories (0755) and replace whatever is at the
//   name (a whole tree, for a directory), except that mkdir keeps an existing directory.
// - Failures throw Errors shaped like Node's fs errors: `code` ('ENOENT'...), `errno`,
//   `syscall`, `path`.
//
// Reading a tree someone else may change meanwhile (a running container's writable layer) goes
// by descriptor instead: openBeneath opens an entry relative to its directory's descriptor,
// following no symlink on the way, and the entry's metadata (fs.fstatSync), xattrs (rel ""),
// link target, content and children are all read through that descriptor. A directory swapped
// for a symlink to / can then change only which of the tree's own objects are read.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface BerthFs {
  /** An O_PATH descriptor on the directory that confines all other calls. */
  openRoot(path: string): number;
  /**
   * An O_PATH descriptor on the object at `rel` below the directory `dirFd` holds, the object
   * itself (a symlink is not followed). No symlink is followed on the way either (ELOOP), nor a
   * mount crossed (EXDEV) unless `crossMounts`. For walking a tree that may change while it is read.
   */
  openBeneath(dirFd: number, rel: string, crossMounts?: boolean): number;
  /**
   * An O_PATH descriptor on what `rel` names below the directory `root` holds, resolved as a
   * chroot there would: symlinks followed, an absolute target or ".." never leaving `root`.
   */
  openInRoot(root: number, rel: string): number;
  /** Names in the directory a descriptor holds (O_PATH is fine), unsorted, without "." and "..". */
  readDir(fd: number): string[];
  /** The target of the symlink an O_PATH descriptor (openBeneath) holds, verbatim. */
  readLink(fd: number): string;
  /**
   * A read-only descriptor on the regular file an O_PATH descriptor holds, without looking its
   * name up again; EINVAL for anything but a regular file (a device is never opened).
   */
  openRead(fd: number): number;
  close(fd: number): void;
  /** True if created, false if a directory was already there (its metadata is untouched). */
  mkdir(root: number, rel: string, mode: number): boolean;
  /** `mode` includes the file type: S_IFCHR, S_IFBLK or S_IFIFO. */
  mknod(root: number, rel: string, mode: number, major: number, minor: number): void;
  /** `target` is stored verbatim; it is never resolved by this call. */
  symlink(root: number, rel: string, target: string): void;
  /** Hard link; `targetRel` is resolved inside the root too, its last component not followed. */
  link(root: number, rel: string, targetRel: string): void;
  /**
   * Names of the object's own xattrs (a symlink's included; the last component not followed).
   * rel "": the object the descriptor holds, of any type.
   */
  listxattr(root: number, rel: string): string[];
  /**
   * Mount an overlay at `target`: `lowers` topmost first (any number: each is passed on its own
   * with fsconfig "lowerdir+"), `upper` and `work` "" for a read-only overlay. Not confined: the
   * agent's own paths. `volatile`: overlay's option of that name (no sync of the upper
   * filesystem at unmount; the work dir is then not reusable after a crash).
   */
  mountOverlay(target: string, lowers: string[], upper: string, work: string, volatile?: boolean): void;
  /** A new network namespace bind-mounted onto `target` (an existing empty file), as `unshare --net=target` makes it. */
  createNetns(target: string): void;
  /** umount2(target), lazily (MNT_DETACH) when `detach`. */
  unmount(target: string, detach: boolean): void;
  /**
   * Bind `source` (a host path) over what `targetFd` holds (opened inside a container's root);
   * private, and read-only through and through if asked. Returns a descriptor on the new mount,
   * for unmountAt.
   */
  bindMount(source: string, targetFd: number, readonly: boolean): number;
  /** Unmount what bindMount mounted (lazily if busy) and close its descriptor. */
  unmountAt(fd: number): void;
  /** A directory entry in one call: created unless a directory is there, then owner and mode. */
  makeDir(root: number, rel: string, mode: number, uid: number, gid: number): void;
  /**
   * A whole file in one call: created private (O_EXCL|O_NOFOLLOW), written, then given its
   * owner, mode (after the chown, which would clear setuid bits) and times.
   */
  writeFile(root: number, rel: string, data: Buffer, mode: number, uid: number, gid: number, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): void;
  /** A new regular file (O_EXCL|O_NOFOLLOW), open for writing; close it with `close`. */
  createFile(root: number, rel: string, mode: number): number;
  lchown(root: number, rel: string, uid: number, gid: number): void;
  /** Permission bits incl. setuid/setgid/sticky; throws EOPNOTSUPP on a symlink. */
  chmod(root: number, rel: string, mode: number): void;
  /** Nanosecond times, the final symlink itself. With dirOnly, false if not (or no longer) a directory. */
  utimes(
    root: number, rel: string,
    atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number,
    dirOnly: boolean,
  ): boolean;
  /** On the object itself, symlinks included (setxattrat, Linux 6.13+; else EOPNOTSUPP for symlinks). */
  setxattr(root: number, rel: string, name: string, value: Buffer): void;
  /** Remove an object, and everything below it if a directory. Absent is not an error. */
  remove(root: number, rel: string): void;
  futimes(fd: number, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): void;
  fsetxattr(fd: number, name: string, value: Buffer): void;
  /**
   * The object's own xattr (symlinks included), undefined if it has none of that name. rel "":
   * the object the descriptor holds, of any type.
   */
  getxattr(root: number, rel: string, name: string): Buffer | undefined;
  /** Remove the object's own xattr (symlinks included, the last component not followed); absent is fine. */
  removexattr(root: number, rel: string, name: string): void;
  /** A new pseudo-terminal: [master, slave] descriptors, close-on-exec. */
  openPty(): [number, number];
  /** The terminal's window size (TIOCSWINSZ); its foreground process group gets SIGWINCH. */
  setWinsize(fd: number, rows: number, cols: number): void;
  /**
   * Connect to a SOCK_SEQPACKET socket (conmon's attach socket) and return a stream socket that
   * carries it, relayed by a thread: each packet [pipe byte][data] arrives as the pipe byte, a
   * 4-byte big-endian length and the data; bytes written go out as packets.
   */
  attachBridge(socketPath: string): number;
}

/** A JS (UTF-16) string as the byte string the addon takes: its UTF-8 bytes, one char each. */
export const toBytePath = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

/** A byte string back to readable text (invalid UTF-8 shows as U+FFFD), for messages. */
export const fromBytePath = (s: string): string => Buffer.from(s, 'latin1').toString('utf8');

const ADDON = join('agent', 'native', 'build', 'Release', 'berth_fs.node');

// This file runs as agent/native/index.ts (ts-node, tests) and as dist/agent/native/index.js
// (compiled), so the addon is found from the package root rather than from __dirname.
function findAddon(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, ADDON))) return join(dir, ADDON);
    if (dirname(dir) === dir) break;
  }
  throw new Error(`berth_fs addon not found (${ADDON} above ${__dirname}); build it with \`npm run install\``);
}

let loaded: BerthFs | undefined;

/** The addon, loaded on first use so that importing this module never fails by itself. */
export function berthFs(): BerthFs {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require(findAddon()) as BerthFs;
  return loaded;
}
