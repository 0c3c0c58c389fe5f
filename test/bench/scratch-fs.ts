// Where a suite writes what it measures: a fresh journaled ext4 in a loop-mounted sparse file (the
// default), a directory in /tmp, or a directory given. On a journal-less ext4 (this machine's /)
// inode allocation scans every inode deleted in the last minutes (ext4's recently_deleted()), so
// each run would pay for the previous run's cleanup and times would drift upwards run after run.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Cleanup } from './cleanup';
import { runCommand } from './proc';
import { removeTree } from './tools';

/**
 * The directory the runs write under for `kind` loop, tmp or DIR; removed (unmounted first) by
 * `cleanup`. `doing` names the work in the log line ("unpacking", "building").
 */
export async function workDir(kind: string, cleanup: Cleanup, log: (line: string) => void, doing = 'unpacking'): Promise<string> {
  const base = kind === 'loop' || kind === 'tmp' ? os.tmpdir() : kind;
  const work = fs.mkdtempSync(path.join(base, 'berth-bench-'));
  const image = `${work}.ext4`;
  // Unmounts first (removeTree), then the loop file goes.
  cleanup.teardown(() => {
    removeTree(work);
    fs.rmSync(image, { force: true });
  });
  if (kind !== 'loop') {
    log(`bench: ${doing} under ${work} (${fsType(work)})`);
    return work;
  }
  const mnt = path.join(work, 'fs');
  fs.mkdirSync(mnt);
  try {
    // Sparse; only what the runs write is allocated.
    fs.writeFileSync(image, '');
    fs.truncateSync(image, 8 * 1024 ** 3);
    await runCommand('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image]);
    await runCommand('mount', ['-o', 'loop', image, mnt]);
  } catch (err) {
    log(`bench: cannot make a loop-mounted ext4 (${(err as Error).message.split('\n')[0]}); ${doing} on ${fsType(work)} under ${work} instead`);
    return work;
  }
  log(`bench: ${doing} on a fresh ext4 (journaled) loop-mounted at ${mnt}`);
  return mnt;
}

/** The filesystem type and mount options of the mount `dir` is on. */
export function fsType(dir: string): string {
  try {
    return execFileSync('findmnt', ['-n', '-o', 'FSTYPE,OPTIONS', '-T', dir], { encoding: 'utf8' }).trim().replace(/\s+/g, ' ');
  } catch {
    return 'unknown filesystem';
  }
}
