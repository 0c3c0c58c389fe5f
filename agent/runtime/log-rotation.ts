// Log rotation, as docker's json-file driver does it: once the current file reaches max-size, it
// becomes FILE.1 (FILE.1 becomes FILE.2, and so on; the oldest beyond max-file goes), and the
// writer starts a new FILE. With compress the rotated files are FILE.1.gz, FILE.2.gz, ...
//
// The writer is conmon, which holds the file open. So the agent renames the file and then asks
// conmon to reopen its log (ctl fifo, REOPEN_LOGS): conmon closes the renamed file and makes a new
// one at FILE (kubelet rotates CRI-O's container logs the same way). Nothing written in between is
// lost: it lands in the renamed file. conmon's own --log-size-max is not used: conmon 2.1 counts
// the bytes it wrote since it started and not since a reopen, so its cap would fall at the wrong
// point and replace a file the agent just started.
//
// The agent watches the log's directory (a rename does not end a directory watch) and looks at
// the size after writes, a few times a second at most, plus a slow poll for missed events. A
// container writing faster than that overshoots max-size by what it writes meanwhile.

import { createReadStream, createWriteStream, watch, type FSWatcher } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { LogConfig } from './types';

/** The name of the k-th rotated file (1: the newest). */
export function rotatedName(file: string, k: number, compress: boolean): string {
  return `${file}.${k}${compress ? '.gz' : ''}`;
}

/** What the log's directory holds of its rotated files, oldest first (FILE.N ... FILE.1, gzipped or not). */
export async function rotatedFiles(file: string): Promise<string[]> {
  const base = path.basename(file);
  const names = await fs.readdir(path.dirname(file)).catch(() => [] as string[]);
  const found: Array<{ k: number; name: string }> = [];
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const m = /^(\d+)(\.gz)?$/.exec(name.slice(base.length + 1));
    if (m) found.push({ k: Number(m[1]), name });
  }
  // Mid-compression both FILE.k and FILE.k.gz exist: the plain one is whole, the other may not be.
  const byK = new Map<number, string>();
  for (const { k, name } of found) if (!byK.has(k) || !name.endsWith('.gz')) byK.set(k, name);
  return [...byK.entries()].sort((a, b) => b[0] - a[0]).map(([, name]) => path.join(path.dirname(file), name));
}

const locks = new Map<string, Promise<unknown>>();

/**
 * Run `fn` alone for this log: a rotation (renames, reopen, compression) and a reader opening the
 * files never interleave, so a reader gets one consistent set of files.
 */
export function withLogLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const before = locks.get(file) ?? Promise.resolve();
  const run = before.then(fn, fn);
  const settled = run.catch(() => undefined);
  locks.set(file, settled);
  void settled.then(() => {
    if (locks.get(file) === settled) locks.delete(file);
  });
  return run;
}

/** Check every so often even without a change event (a watch can miss). */
const POLL_MS = 2000;
/** At most this often after writes. */
const CHECK_MS = 25;
/**
 * How long a missing file is taken for a reopen of ours still under way rather than left by a
 * crash. A second reopen must not come while the first is pending: conmon would replace the new
 * file it just made, and the lines already in it with it.
 */
const REOPEN_GRACE_MS = 10_000;

/**
 * Rotate `file` by `config` until `signal` aborts (the container's process ended). `reopen` asks
 * the writer to start a new file; it rejects when the writer is gone.
 */
export function rotateWhileRunning(file: string, config: LogConfig, reopen: () => Promise<void>, signal: AbortSignal): void {
  const maxBytes = config.maxBytes;
  if (maxBytes === undefined || signal.aborted) return;
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let busy = false;
  let again = false;
  let lastError: string | undefined;
  let reopenedAt = -Infinity;
  const askReopen = async (): Promise<void> => {
    reopenedAt = Date.now();
    await reopen();
  };
  const sizeOf = () => fs.stat(file).then((st) => st.size, () => undefined);

  const check = async (): Promise<void> => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const size = await sizeOf();
        if (signal.aborted) break;
        // Looked at again under the lock: a rotation may have been under way.
        if (size === undefined) {
          // No file: an agent died between a rename and the writer's reopen; the writer still
          // writes into the renamed one. Have it make the file again (kubelet does the same),
          // unless a reopen of ours is what the file is missing for.
          await withLogLock(file, async () => {
            if ((await sizeOf()) === undefined && Date.now() - reopenedAt > REOPEN_GRACE_MS) {
              await askReopen();
              await writerLeft(file);
            }
          });
        } else if (size >= maxBytes) {
          await withLogLock(file, async () => {
            if (((await sizeOf()) ?? 0) >= maxBytes) await rotate(file, config, askReopen);
          });
        }
      } while (again && !signal.aborted);
    } catch (err) {
      // Said once, not at every poll while it lasts (a writer gone before the exit is seen).
      const message = (err as Error).message;
      if (message !== lastError) console.error(`log rotation of ${file} failed:`, message);
      lastError = message;
    } finally {
      busy = false;
    }
  };
  let dueAt = 0;
  /** Look in `ms`, unless a look is due sooner (a throttle: writes never push a look back). */
  const schedule = (ms: number) => {
    if (signal.aborted) return;
    if (timer) {
      if (dueAt <= Date.now() + ms) return;
      clearTimeout(timer);
    }
    dueAt = Date.now() + ms;
    timer = setTimeout(() => {
      timer = undefined;
      void check().finally(() => schedule(POLL_MS));
    }, ms);
    timer.unref();
  };
  try {
    watcher = watch(path.dirname(file), (_event, name) => {
      if (name === path.basename(file)) schedule(CHECK_MS);
    });
    watcher.on('error', () => {});
  } catch {
    // The poll still runs.
  }
  schedule(0);
  signal.addEventListener('abort', () => {
    watcher?.close();
    if (timer) clearTimeout(timer);
  }, { once: true });
}

/** One rotation: shift the rotated files, rename the current one, have the writer reopen, compress. */
export async function rotate(file: string, config: LogConfig, reopen: () => Promise<void>): Promise<void> {
  const current = (await fs.stat(file)).ino;
  if (config.maxFiles <= 1) {
    // Nothing is kept: the writer's reopen replaces the file with a new, empty one; until it has,
    // the old one is still over max-size, and a second reopen would replace the new one.
    await reopen();
    await writerLeft(file, current);
    return;
  }
  // Every rename is undone when the writer turns out to be gone (the container ended meanwhile):
  // then nothing rotates, and the oldest file, set aside rather than removed, stays too.
  const done: Array<[from: string, to: string]> = [];
  const move = async (from: string, to: string) => {
    try {
      await fs.rename(from, to);
      done.push([from, to]);
    } catch (err) {
      ignoreMissing(err);
    }
  };
  const dropped = `${file}.dropped`;
  const newest = rotatedName(file, 1, false);
  try {
    // Both forms each time: a file the last rotation could not compress stays plain.
    for (const gz of [false, true]) await move(rotatedName(file, config.maxFiles - 1, gz), `${dropped}${gz ? '.gz' : ''}`);
    for (let k = config.maxFiles - 2; k >= 1; k--) {
      for (const gz of [false, true]) await move(rotatedName(file, k, gz), rotatedName(file, k + 1, gz));
    }
    await move(file, newest);
    await reopen();
  } catch (err) {
    for (const [from, to] of done.reverse()) await fs.rename(to, from).catch(() => {});
    throw err;
  }
  for (const gz of [false, true]) await fs.rm(`${dropped}${gz ? '.gz' : ''}`, { force: true });
  // The lock is held until the writer has made its new file, so that no reader or check finds
  // the file missing meanwhile. Compressed only once the writer has left it; otherwise left plain
  // (readers take it as it is, and the next rotation shifts it).
  const left = await writerLeft(file, current);
  // A writer that ended before it read the request leaves no file: an empty one is the current
  // file then (harmless if the writer is only slow: its reopen replaces the file, which nobody
  // writes to).
  if (!left) await fs.writeFile(file, '', { flag: 'wx', mode: 0o600 }).catch(() => {});
  if (config.compress && left) await gzipFile(newest);
}

/**
 * Whether the writer made its new file (within five seconds): a file at `file` other than inode
 * `previous`. Until then it may still be writing to the old one. (conmon closes the old file
 * before it makes the new one.)
 */
async function writerLeft(file: string, previous?: number): Promise<boolean> {
  for (let i = 0; i < 250; i++) {
    const ino = await fs.stat(file).then((st) => st.ino, () => undefined);
    if (ino !== undefined && ino !== previous) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/** FILE.1 -> FILE.1.gz, written aside and renamed, then FILE.1 removed; readers see one or the other whole. */
async function gzipFile(plain: string): Promise<void> {
  const gz = `${plain}.gz`;
  const tmp = `${gz}.tmp`;
  try {
    // 0600, as conmon makes the log itself.
    await pipeline(createReadStream(plain), createGzip(), createWriteStream(tmp, { mode: 0o600 }));
    await fs.rename(tmp, gz);
    await fs.rm(plain, { force: true });
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}
