// berth cp (docker cp): files between a container (running or not) and this host, both ways,
// with docker's rules for the destination: an existing directory receives the source inside it
// under its own name; otherwise the source is written as the destination's name (a directory
// source then must not meet an existing file). `-` is a tar on stdin or stdout. The archive is
// made and unpacked by tar(1) on this side; the agent reads and writes the container's side,
// confined to its root. -a keeps the files' owners; without it, what is copied in is root's.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../../proto/errors';
import type { ContainersClient } from '../../proto/grpc';
import { parseFlags, requireArgs } from '../common/args';
import { CliError } from '../common/errors';
import { call, fromAgentStatus } from './agent-client';

const USAGE = 'berth cp [-a] [-L] CONTAINER:SRC_PATH DEST_PATH|-  or  SRC_PATH|- CONTAINER:DEST_PATH';

/** CONTAINER:PATH, or undefined for a local path (a path with a slash before any colon is local). */
function containerPart(arg: string): { id: string; path: string } | undefined {
  const colon = arg.indexOf(':');
  if (colon <= 0 || arg.slice(0, colon).includes('/')) return undefined;
  return { id: arg.slice(0, colon), path: arg.slice(colon + 1) || '/' };
}

export async function cp(containers: ContainersClient, argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, { archive: { type: 'boolean', short: 'a' }, 'follow-link': { type: 'boolean', short: 'L' }, quiet: { type: 'boolean', short: 'q' } });
  requireArgs(positionals, 2, USAGE);
  const [src, dst] = positionals as [string, string];
  const from = containerPart(src);
  const to = containerPart(dst);
  if (from && to) throw new CliError('copying between containers is not supported');
  if (!from && !to) throw new CliError(`must specify at least one container source (${USAGE})`);
  if (from) await copyOut(containers, from, dst);
  else await copyIn(containers, src, to!, Boolean(values.archive), Boolean(values['follow-link']));
}

async function stat(containers: ContainersClient, id: string, containerPath: string) {
  return call(containers.StatPath.bind(containers), { id, path: containerPath });
}

async function copyOut(containers: ContainersClient, from: { id: string; path: string }, dst: string): Promise<void> {
  const source = await stat(containers, from.id, from.path);
  if (from.path.endsWith('/') && source.type !== 'dir' && source.type !== 'symlink') throw new CliError(`${from.path}: not a directory`);
  const stream = containers.CopyFrom({ id: from.id, path: from.path });
  const chunks = (async function* () {
    try {
      for await (const chunk of stream) yield (chunk as { data: Buffer }).data;
    } catch (err) {
      throw fromAgentStatus(err as never);
    }
  })();
  if (dst === '-') {
    for await (const data of chunks) if (!process.stdout.write(data)) await new Promise((r) => process.stdout.once('drain', r));
    return;
  }
  const target = path.resolve(dst);
  const into = existsSync(target) && statSync(target).isDirectory();
  if (!into && dst.endsWith('/')) throw new CliError(`${dst}: no such directory`);
  if (!into && !existsSync(path.dirname(target))) throw new CliError(`${path.dirname(dst)}: no such directory`);
  // Unpacked beside the destination, then renamed to its name: never half a file under it.
  const staging = into ? target : mkdtempSync(path.join(path.dirname(target), '.berth-cp-'));
  try {
    await untar(chunks, staging);
    if (!into) {
      const unpacked = path.join(staging, source.name === '/' ? '.' : source.name);
      if (source.type === 'dir' && existsSync(target) && !statSync(target).isDirectory()) throw new CliError(`cannot overwrite non-directory ${dst} with directory ${from.path}`);
      rmSync(target, { recursive: false, force: true });
      renameSync(unpacked, target);
    }
  } finally {
    if (!into) rmSync(staging, { recursive: true, force: true });
  }
}

async function copyIn(containers: ContainersClient, src: string, to: { id: string; path: string }, archive: boolean, followLink: boolean): Promise<void> {
  let dir: string;
  let name: string | undefined;
  const dest = await stat(containers, to.id, to.path).catch((err: unknown) => {
    if (err instanceof BerthError && err.code === 'not-found') return undefined;
    throw err;
  });
  if (dest && (dest.type === 'dir' || (dest.type === 'symlink'))) {
    dir = to.path;
  } else {
    if (to.path.endsWith('/')) throw new CliError(`${to.path}: no such directory in the container`);
    dir = path.posix.dirname(path.posix.resolve('/', to.path));
    name = path.posix.basename(to.path);
  }
  const tarArgs = ['-c', '-f', '-', ...(archive ? ['--numeric-owner'] : ['--owner=0', '--group=0', '--numeric-owner']), ...(followLink ? ['-h'] : [])];
  let producer;
  if (src === '-') {
    producer = process.stdin;
  } else {
    const local = path.resolve(src);
    if (!existsSync(local)) throw new CliError(`could not find the file ${src} on this host`);
    const base = path.basename(local);
    // Renamed on the way when the destination names a new file or directory.
    const transform = name !== undefined && name !== base ? [`--transform=s|^${base.replace(/[|\\&]/g, '\\$&')}|${name.replace(/[|\\&]/g, '\\$&')}|`] : [];
    const tar = spawn('tar', [...tarArgs, ...transform, '-C', path.dirname(local), '--', base], { stdio: ['ignore', 'pipe', 'inherit'] });
    producer = tar.stdout;
  }
  await new Promise<void>((resolve, reject) => {
    const upload = containers.CopyTo((err) => (err ? reject(fromAgentStatus(err)) : resolve()));
    upload.write({ id: to.id, path: dir, data: Buffer.alloc(0) });
    producer.on('data', (data: Buffer) => {
      if (!upload.write({ data })) {
        producer.pause();
        upload.once('drain', () => producer.resume());
      }
    });
    producer.on('end', () => upload.end());
    producer.on('error', (err: Error) => {
      upload.cancel();
      reject(err);
    });
  });
}

async function untar(chunks: AsyncIterable<Buffer>, dir: string): Promise<void> {
  const tar = spawn('tar', ['-x', '-f', '-', '-C', dir, '--no-same-owner'], { stdio: ['pipe', 'inherit', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve) => tar.on('close', (code) => resolve(code ?? 1)));
  for await (const data of chunks) if (!tar.stdin.write(data)) await new Promise((r) => tar.stdin.once('drain', r));
  tar.stdin.end();
  if ((await exited) !== 0) throw new CliError(`cannot unpack into ${dir}: ${stderr.trim()}`);
}
