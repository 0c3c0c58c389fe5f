// berth cp (docker cp): files between a container (running or not) and this host, both ways,
// with docker's rules for the destination: an existing directory receives the source inside it
// under its own name; otherwise the source is written as the destination's name (a directory
// source then must not meet an existing file). `-` is a tar on stdin or stdout. The archive is
// made and unpacked by tar(1) on this side; the agent reads and writes the container's side,
// confined to its root. -a keeps the files' owners; without it, what is copied in is root's.

import * as path from 'node:path';
import { BerthError } from '../../proto/errors';
import type { ContainersClient } from '../../proto/grpc';
import { parseFlags, requireArgs } from '../common/args';
import { CliError } from '../common/errors';
import { packLocal, unpackAt } from '../common/local-archive';
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
  await unpackAt(chunks, source.name === '/' ? '.' : source.name, dst, source.type === 'dir', from.path);
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
  const producer = packLocal(src, { ...(name !== undefined ? { as: name } : {}), keepOwners: archive, followLinks: followLink });
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
