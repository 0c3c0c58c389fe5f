// What RUN --mount needs on the host: the directories cache mounts keep between builds, and the
// mount points a step's root filesystem lacks, made before the step and removed after it so that
// none of them ends up in the step's layer (as BuildKit removes its mount stubs).

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { BigIntStats } from 'node:fs';
import { OPAQUE_XATTR, statIn, timesOf } from '../diff';
import { berthFs, type BerthFs } from '../native';
import { resolveInRoot } from './rootfs';

/** The cache mounts of one step, held until it ends: each ID's directory. */
export interface HeldCaches {
  dirOf(id: string): string;
  release(): void;
}

type Sharing = 'shared' | 'private' | 'locked';
interface CacheSpec {
  id: string;
  sharing: Sharing;
  mode: number;
  uid: number;
  gid: number;
}

/** Who holds one ID's directory now. */
interface Holders {
  shared: number;
  exclusive: boolean;
}

/**
 * The cache mounts' directories, <root>/<sha256 of the id>, kept between builds and shared by
 * every build of this agent, held as BuildKit holds them: `shared` (the default) with other
 * shared users, `locked` alone (it waits until nobody holds the ID), `private` alone or, when
 * someone holds the ID, in a fresh directory of its own thrown away after.
 */
export class CacheMounts {
  private readonly holders = new Map<string, Holders>();
  /** Steps waiting for an ID: told whenever a holder lets go. */
  private waiters: Array<() => void> = [];
  /** IDs being removed by clear(): acquire waits for that. */
  private clearing?: Promise<unknown>;

  constructor(private readonly root: string) {}

  /** Remove the private directories a step of an earlier agent left (a crash). */
  static async sweep(root: string): Promise<void> {
    for (const name of await fs.readdir(root).catch(() => [] as string[])) {
      if (name.startsWith('private-')) await fs.rm(path.join(root, name), { recursive: true, force: true });
    }
  }

  /**
   * Hold every cache mount a step names, each ID once (the strictest sharing asked wins), in the
   * order of their names, so that two steps never wait for each other. `signal` ends a wait.
   */
  async acquire(mounts: readonly CacheSpec[], signal: AbortSignal): Promise<HeldCaches> {
    await this.clearing;
    const byId = new Map<string, CacheSpec>();
    const rank: Record<Sharing, number> = { shared: 0, private: 1, locked: 2 };
    for (const m of mounts) {
      const seen = byId.get(m.id);
      if (!seen || rank[m.sharing] > rank[seen.sharing]) byId.set(m.id, m);
    }
    const held: Array<{ name: string; exclusive: boolean; dir: string; temporary: boolean }> = [];
    const dirs = new Map<string, string>();
    const release = () => {
      for (const h of held.splice(0)) {
        if (h.temporary) {
          void fs.rm(h.dir, { recursive: true, force: true });
          continue;
        }
        const holders = this.holders.get(h.name)!;
        if (h.exclusive) holders.exclusive = false;
        else holders.shared--;
        if (!holders.exclusive && holders.shared === 0) this.holders.delete(h.name);
      }
      const waiting = this.waiters;
      this.waiters = [];
      for (const wake of waiting) wake();
    };
    try {
      for (const m of [...byId.values()].sort((a, b) => a.id.localeCompare(b.id))) {
        const name = createHash('sha256').update(m.id).digest('hex');
        for (;;) {
          const h = this.holders.get(name) ?? { shared: 0, exclusive: false };
          const free = !h.exclusive && h.shared === 0;
          if (m.sharing === 'private' && !free) {
            const dir = path.join(this.root, `private-${randomBytes(8).toString('hex')}`);
            held.push({ name, exclusive: true, dir, temporary: true });
            dirs.set(m.id, dir);
            await this.make(dir, m);
            break;
          }
          if (m.sharing === 'shared' ? !h.exclusive : free) {
            if (m.sharing === 'shared') h.shared++;
            else h.exclusive = true;
            this.holders.set(name, h);
            const dir = path.join(this.root, name);
            held.push({ name, exclusive: m.sharing !== 'shared', dir, temporary: false });
            dirs.set(m.id, dir);
            await this.make(dir, m);
            break;
          }
          await new Promise<void>((resolve, reject) => {
            const onAbort = () => reject(signal.reason ?? new Error('cancelled'));
            if (signal.aborted) return onAbort();
            signal.addEventListener('abort', onAbort, { once: true });
            this.waiters.push(() => {
              signal.removeEventListener('abort', onAbort);
              resolve();
            });
          });
        }
      }
    } catch (err) {
      release();
      throw err;
    }
    return { dirOf: (id) => dirs.get(id)!, release };
  }

  /** Remove every cache mount no step holds; the bytes they held. */
  async clear(): Promise<number> {
    const run = (async () => {
      let bytes = 0;
      for (const name of await fs.readdir(this.root).catch(() => [] as string[])) {
        if (this.holders.has(name) || name.startsWith('private-')) continue;
        const dir = path.join(this.root, name);
        bytes += await sizeOf(dir);
        await fs.rm(dir, { recursive: true, force: true });
      }
      return bytes;
    })();
    this.clearing = run.catch(() => undefined);
    try {
      return await run;
    } finally {
      this.clearing = undefined;
    }
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
  /**
   * Remove what was made and is still as it was made (the same inode: an empty directory, an
   * empty file). A directory above them gets back the times it had before the stubs were made,
   * unless the step changed it since (then its own). Run once the step's processes are gone;
   * every lookup goes through the root without following a symlink, so nothing the step planted
   * (a directory swapped for a link to /etc) leads elsewhere.
   */
  remove(): Promise<void>;
  /**
   * Once the overlay is unmounted: drop from its upper dir the directories overlay copied up only
   * because a stub was made in them (empty there, and as the layers below have them), so that a
   * step that changed nothing makes no layer. `lowers`: the stack's directories, topmost first.
   */
  dropCopyUps(upper: string, lowers: readonly string[]): Promise<void>;
}

/** The directory a chain of stubs was made in: its times before and right after. */
interface StubParent {
  rel: string;
  before: BigIntStats;
  after?: BigIntStats;
}

/**
 * Make `targets` (absolute paths in `root`, symlinks resolved inside it) exist: the missing
 * directories on the way, and the target itself as a directory, or an empty file for those in
 * `files`. Returns them as stubs to remove after the step.
 */
export async function makeMountStubs(root: string, targets: ReadonlyArray<{ target: string; file: boolean }>): Promise<MountStubs> {
  if (targets.length === 0) return { remove: async () => undefined, dropCopyUps: async () => undefined };
  const made: Array<{ rel: string; dev: bigint; ino: bigint }> = [];
  const parents = new Map<string, StubParent>();
  const native = berthFs();
  const rootFd = native.openRoot(root);
  try {
    for (const { target, file } of targets) {
      const resolved = await resolveInRoot(root, target.replace(/^\/+/, ''), true);
      const parts = resolved.split('/').filter((p) => p !== '');
      for (let i = 0; i < parts.length; i++) {
        const rel = parts.slice(0, i + 1).join('/');
        const at = path.join(root, rel);
        if (await fs.lstat(at).catch(() => undefined)) continue;
        // The root's times are no layer's.
        const parent = parts.slice(0, i).join('/');
        if (parent !== '' && !parents.has(parent) && !made.some((m) => m.rel === parent)) {
          const st = statIn(native, rootFd, parent);
          if (st) parents.set(parent, { rel: parent, before: st });
        }
        if (file && i === parts.length - 1) await fs.writeFile(at, '', { flag: 'wx', mode: 0o600 });
        else await fs.mkdir(at, { mode: 0o755 });
        const st = await fs.lstat(at, { bigint: true });
        made.push({ rel, dev: st.dev, ino: st.ino });
      }
    }
    for (const p of parents.values()) {
      const st = statIn(native, rootFd, p.rel);
      if (st) p.after = st;
    }
  } finally {
    native.close(rootFd);
  }
  return {
    async remove() {
      if (made.length === 0) return;
      const rootFd = native.openRoot(root);
      try {
        // The parents' times as the step left them, before removing stubs moves them again.
        const left = new Map([...parents.keys()].map((rel) => [rel, statIn(native, rootFd, rel)]));
        for (const stub of [...made].reverse()) {
          const st = statIn(native, rootFd, stub.rel);
          if (!st || st.dev !== stub.dev || st.ino !== stub.ino) continue;
          if (st.isDirectory() ? readDirBeneath(native, rootFd, stub.rel).length > 0 : !st.isFile() || st.size > 0n) continue;
          native.remove(rootFd, stub.rel);
        }
        for (const p of parents.values()) {
          const now = left.get(p.rel);
          if (!now?.isDirectory()) continue;
          // Untouched by the step since the stubs were made: as it was before them.
          const times = p.after && p.after.mtimeNs === now.mtimeNs ? p.before : now;
          native.utimes(rootFd, p.rel, ...timesOf(times), true);
        }
      } finally {
        native.close(rootFd);
      }
    },
    async dropCopyUps(upper, lowers) {
      if (parents.size === 0) return;
      const rootFd = native.openRoot(upper);
      const lowerFds = lowers.map((l) => native.openRoot(l));
      try {
        const dirs = new Set<string>();
        for (const p of parents.keys()) {
          for (let d = p; d !== ''; d = d.includes('/') ? d.slice(0, d.lastIndexOf('/')) : '') dirs.add(d);
        }
        // Deepest first: a parent can go only once its children have.
        for (const rel of [...dirs].sort((a, b) => b.split('/').length - a.split('/').length)) {
          const st = statIn(native, rootFd, rel);
          if (!st?.isDirectory() || readDirBeneath(native, rootFd, rel).length > 0) continue;
          if (native.getxattr(rootFd, rel, OPAQUE_XATTR)) continue;
          const below = lowerFds.map((fd) => statIn(native, fd, rel)).find((s) => s !== undefined);
          if (!below?.isDirectory() || below.mode !== st.mode || below.uid !== st.uid || below.gid !== st.gid || below.mtimeNs !== st.mtimeNs) continue;
          native.remove(rootFd, rel);
        }
      } finally {
        for (const fd of lowerFds) native.close(fd);
        native.close(rootFd);
      }
    },
  };
}

/**
 * For each target inside another directory mount (`outer`: those mounts), its mount point made in
 * that mount's source on the host, resolved inside the source (its symlinks stay in it).
 */
export async function makeNestedMountPoints(outer: ReadonlyArray<{ source: string; destination: string }>, targets: ReadonlyArray<{ target: string; file: boolean }>): Promise<void> {
  for (const o of outer) {
    for (const { target, file } of targets) {
      if (!target.startsWith(`${o.destination.replace(/\/+$/, '')}/`)) continue;
      const rel = await resolveInRoot(o.source, target.slice(o.destination.replace(/\/+$/, '').length + 1), true);
      const at = path.join(o.source, rel);
      if (await fs.lstat(at).catch(() => undefined)) continue;
      await fs.mkdir(file ? path.dirname(at) : at, { recursive: true, mode: 0o755 });
      if (file) await fs.writeFile(at, '', { flag: 'wx', mode: 0o600 });
    }
  }
}

function readDirBeneath(native: BerthFs, root: number, rel: string): string[] {
  const fd = native.openBeneath(root, rel);
  try {
    return native.readDir(fd);
  } finally {
    native.close(fd);
  }
}
