// Named network namespaces the way `ip netns add` makes them: the namespace file of a task created
// in a new network namespace, bind-mounted onto a file, so the namespace lives on without any
// process in it until the file is unmounted.

import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { promisify } from 'node:util';
import { berthFs } from '../native';
import { BerthError } from '../../proto/errors';

const exec = promisify(execFile);

/** statfs f_type of nsfs: what a bind-mounted namespace file reports. */
const NSFS_MAGIC = 0x6e736673;

/** True if `file` is a namespace bind mount (not merely a file, nor missing). */
export async function isNetns(file: string): Promise<boolean> {
  try {
    return (await fs.statfs(file)).type === NSFS_MAGIC;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Make `dir` a shared mount point of its own, as ip-netns does for /run/netns: a namespace file
 * mounted later is then copied into mount namespaces cloned meanwhile (runc's, a monitor's) as a
 * peer or slave, and our unmount propagates to those copies; under a private mount a copy would
 * keep the namespace alive after detach.
 */
export async function prepareNetnsDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  if (!(await isMountPoint(dir))) await mount(['--bind', dir, dir]);
  await mount(['--make-shared', dir]);
}

/** Undo prepareNetnsDir; absent or already unmounted is fine. */
export async function releaseNetnsDir(dir: string): Promise<void> {
  if (await isMountPoint(dir)) unmount(dir);
}

/** A new network namespace at `file`; an existing one there is kept (idempotent). */
export async function createNetns(file: string): Promise<void> {
  if (await isNetns(file)) return;
  // The mount target must exist; a plain file left by an interrupted create is reused.
  await (await fs.open(file, 'a', 0o444)).close();
  try {
    // In-process (a cloned task, see berth_fs.c): exec'ing unshare(1) cost 4 ms of every start.
    berthFs().createNetns(file);
  } catch (err) {
    await fs.rm(file, { force: true });
    throw new BerthError('internal', `network namespace ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Unmount and remove the namespace file; a namespace already gone is not an error. */
export async function removeNetns(file: string): Promise<void> {
  if (await isNetns(file)) unmount(file);
  await fs.rm(file, { force: true });
}

function unmount(target: string): void {
  try {
    berthFs().unmount(target, false);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EINVAL' || code === 'ENOENT') return; // not mounted (any more)
    // EBUSY cannot happen for a namespace file; anything else is the host's problem to report.
    throw new BerthError('internal', `unmount ${target}: ${(err as Error).message}`, { cause: err });
  }
}

async function mount(args: string[]): Promise<void> {
  try {
    await exec('mount', args);
  } catch (err) {
    throw new BerthError('internal', `mount ${args.join(' ')}: ${stderrOf(err)}`, { cause: err });
  }
}

/** Whether `dir` is a mount point: its entry in /proc/self/mountinfo (field 5, octal-escaped). */
async function isMountPoint(dir: string): Promise<boolean> {
  const mountinfo = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const real = await fs.realpath(dir).catch(() => dir);
  return mountinfo.split('\n').some((line) => line.split(' ')[4] !== undefined && unescape(line.split(' ')[4]) === real);
}

const stderrOf = (err: unknown): string =>
  String((err as { stderr?: string }).stderr ?? (err as Error).message).replace(/\s+/g, ' ').trim();
