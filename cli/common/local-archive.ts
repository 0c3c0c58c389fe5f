// The local side of cp (docker's and kubectl's): a path of this host packed as a tar, and a tar
// unpacked under a destination by docker's rules (an existing directory receives the source
// inside it under its own name, else the source takes the destination's name). tar(1) does the
// packing and unpacking; a copy out is unpacked beside its destination and renamed into place.

import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { CliError } from './errors';

/**
 * Unpack `chunks` (a tar whose top entry is `name`) at `dst`: into it when it is an existing
 * directory, else as it. `sourceIsDir` refuses to put a directory over a file.
 */
export async function unpackAt(chunks: AsyncIterable<Buffer>, name: string, dst: string, sourceIsDir: boolean, what: string): Promise<void> {
  const target = path.resolve(dst);
  const into = existsSync(target) && statSync(target).isDirectory();
  if (!into && dst.endsWith('/')) throw new CliError(`${dst}: no such directory`);
  if (!into && !existsSync(path.dirname(target))) throw new CliError(`${path.dirname(dst)}: no such directory`);
  if (!into && sourceIsDir && existsSync(target)) throw new CliError(`cannot overwrite non-directory ${dst} with directory ${what}`);
  // Always unpacked into a fresh directory first, and only the entry asked for is moved from
  // there: the archive may come from a container, which could add entries beside it
  // (../.bashrc is refused by tar itself; a sibling .bashrc is not).
  const staging = mkdtempSync(path.join(into ? target : path.dirname(target), '.berth-cp-'));
  try {
    await untar(chunks, staging);
    const unpacked = path.join(staging, name);
    if (!existsSync(unpacked) && !lstatExists(unpacked)) throw new CliError(`the archive of ${what} did not hold ${name}`);
    const final = into ? path.join(target, name === '.' ? '' : name) : target;
    if (name === '.' || (existsSync(final) && statSync(final).isDirectory() && lstatSync(unpacked).isDirectory())) {
      // Merged into a directory that is there: cp -a of the contents.
      await run('cp', ['-a', '--', `${unpacked}/.`, final]);
    } else {
      rmSync(final, { recursive: true, force: true });
      renameSync(unpacked, final);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

const lstatExists = (p: string): boolean => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new CliError(`${command} failed: ${stderr.trim()}`))));
  });
}

async function untar(chunks: AsyncIterable<Buffer>, dir: string): Promise<void> {
  const tar = spawn('tar', ['-x', '-f', '-', '-C', dir, '--no-same-owner'], { stdio: ['pipe', 'inherit', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve) => tar.on('close', (code) => resolve(code ?? 1)));
  try {
    for await (const data of chunks) if (!tar.stdin.write(data)) await new Promise((r) => tar.stdin.once('drain', r));
  } catch (err) {
    // The source failed: tar must not wait for the rest of an archive that will not come.
    tar.kill();
    await exited;
    throw err;
  }
  tar.stdin.end();
  if ((await exited) !== 0) throw new CliError(`cannot unpack into ${dir}: ${stderr.trim()}`);
}

/**
 * A local path as a tar stream whose top entry is named `as` (its own name by default); owned by
 * root unless `keepOwners`, symlinks followed with `followLinks`. `-` is stdin, sent as it is.
 */
export function packLocal(src: string, options: { as?: string; keepOwners?: boolean; followLinks?: boolean } = {}): Readable {
  if (src === '-') return process.stdin;
  const local = path.resolve(src);
  if (!existsSync(local)) throw new CliError(`could not find the file ${src} on this host`);
  const base = path.basename(local);
  // Only the top entry is renamed: its exact name (escaped), alone or before a slash.
  const from = regexEscape(base);
  const to = replacementEscape(options.as ?? base);
  const rename = options.as !== undefined && options.as !== base ? [`--transform=s|^${from}$|${to}|`, `--transform=s|^${from}/|${to}/|`] : [];
  const args = ['-c', '-f', '-', '--numeric-owner', ...(options.keepOwners ? [] : ['--owner=0', '--group=0']), ...(options.followLinks ? ['-h'] : []), ...rename, '-C', path.dirname(local), '--', base];
  const tar = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // The archive is whole only if tar says so: a failure must not pass for an empty archive.
  const out = new PassThrough();
  tar.stdout.pipe(out, { end: false });
  tar.on('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new CliError(`cannot pack ${src}: ${stderr.trim() || `tar exited ${code}`}`));
  });
  return out;
}

const regexEscape = (s: string): string => s.replace(/[|\\.*[\]^$]/g, '\\$&');
const replacementEscape = (s: string): string => s.replace(/[|\\&]/g, '\\$&');
