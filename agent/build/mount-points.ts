// What RUN --mount needs on the host: the directories cache mounts keep between builds, and the
// mount points a step's root filesystem lacks, made before the step and removed after it so that
// none of them ends up in the step's layer (as BuildKit removes its mount stubs).

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { resolveInRoot } from './rootfs';

/** A cache mount's directory for one step, released when the step ends. */
export interface HeldCache {
  dir: string;
  release(): Promise<void>;
}

/**
 * The cache mounts' directories, <root>/<sha256 of the id>, kept between builds and shared by
 * every build of this agent. `shared` mounts are used by any number of steps at once; a `locked`
 * one waits until no other locked user holds its id; a `private` one gets a fresh directory of its
 * own (thrown away after) when another step is using the id.
 */
export class CacheMounts {
  private readonly users = new Map<string, number>();
  private readonly locks = new Map<string, Promise<void>>();

  constructor(private readonly root: string) {}

  async acquire(mount: { id: string; sharing: 'shared' | 'private' | 'locked'; mode: number; uid: number; gid: number }): Promise<HeldCache> {
    const name = createHash('sha256').update(mount.id).digest('hex');
    let unlock: (() => void) | undefined;
    if (mount.sharing === 'locked') {
      const previous = this.locks.get(name) ?? Promise.resolve();
      const mine = new Promise<void>((resolve) => (unlock = resolve));
      const chained = previous.then(() => mine);
      this.locks.set(name, chained);
      await previous;
      const release = unlock!;
      unlock = () => {
        release();
        if (this.locks.get(name) === chained) this.locks.delete(name);
      };
    }
    if (mount.sharing === 'private' && (this.users.get(name) ?? 0) > 0) {
      const dir = path.join(this.root, `private-${randomBytes(8).toString('hex')}`);
      await this.make(dir, mount);
      return { dir, release: () => fs.rm(dir, { recursive: true, force: true }) };
    }
    const dir = path.join(this.root, name);
    this.users.set(name, (this.users.get(name) ?? 0) + 1);
    try {
      await this.make(dir, mount);
    } catch (err) {
      this.leave(name);
      unlock?.();
      throw err;
    }
    let released = false;
    return {
      dir,
      release: async () => {
        if (released) return;
        released = true;
        this.leave(name);
        unlock?.();
      },
    };
  }

  /** Remove every cache mount no step is using; the bytes they held. */
  async clear(): Promise<number> {
    let bytes = 0;
    for (const name of await fs.readdir(this.root).catch(() => [] as string[])) {
      if ((this.users.get(name) ?? 0) > 0 || this.locks.has(name)) continue;
      const dir = path.join(this.root, name);
      bytes += await sizeOf(dir);
      await fs.rm(dir, { recursive: true, force: true });
    }
    return bytes;
  }

  private leave(name: string): void {
    const n = (this.users.get(name) ?? 1) - 1;
    if (n > 0) this.users.set(name, n);
    else this.users.delete(name);
  }

  /** Created with the mount's mode and owner the first time; an existing one is kept as the steps left it. */
  private async make(dir: string, mount: { mode: number; uid: number; gid: number }): Promise<void> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    try {
      await fs.mkdir(dir, { mode: mount.mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
      throw err;
    }
    await fs.chown(dir, mount.uid, mount.gid);
    await fs.chmod(dir, mount.mode);
  }
}

async function sizeOf(p: string): Promise<number> {
  const st = await fs.lstat(p).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of await fs.readdir(p)) total += await sizeOf(path.join(p, name));
  return total;
}

/** Mount points made in a root filesystem for a step, to be removed after it. */
export interface MountStubs {
  /** Remove what was made and is still as it was made (an empty directory, an empty file), and give the directories above back their times. */
  remove(): Promise<void>;
}

/**
 * Make `targets` (absolute paths in `root`, symlinks resolved inside it) exist: the missing
 * directories on the way, and the target itself as a directory, or an empty file for those in
 * `files`. Returns them as stubs to remove after the step.
 */
export async function makeMountStubs(root: string, targets: ReadonlyArray<{ target: string; file: boolean }>): Promise<MountStubs> {
  const made: string[] = [];
  const parents = new Map<string, { atime: Date; mtime: Date }>();
  for (const { target, file } of targets) {
    const resolved = await resolveInRoot(root, target.replace(/^\/+/, ''), true);
    const parts = resolved.split('/').filter((p) => p !== '');
    for (let i = 0; i < parts.length; i++) {
      const at = path.join(root, ...parts.slice(0, i + 1));
      const st = await fs.lstat(at).catch(() => undefined);
      if (st) continue;
      const parent = path.dirname(at);
      if (!parents.has(parent) && !made.includes(parent)) {
        const p = await fs.stat(parent);
        parents.set(parent, { atime: p.atime, mtime: p.mtime });
      }
      if (file && i === parts.length - 1) await fs.writeFile(at, '', { flag: 'wx', mode: 0o600 });
      else await fs.mkdir(at, { mode: 0o755 });
      made.push(at);
    }
  }
  return {
    async remove() {
      for (const at of [...made].reverse()) {
        const st = await fs.lstat(at).catch(() => undefined);
        if (!st) continue;
        if (st.isDirectory()) await fs.rmdir(at).catch(() => undefined);
        else if (st.isFile() && st.size === 0) await fs.unlink(at).catch(() => undefined);
      }
      for (const [dir, times] of parents) await fs.utimes(dir, times.atime, times.mtime).catch(() => undefined);
    },
  };
}
