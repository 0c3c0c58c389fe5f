// ADD's two extras over COPY: a local tar archive (plain, gzip, bzip2 or xz, recognised by its
// content, not its name) is unpacked into the destination, and an http(s) URL is downloaded
// (checked against --checksum when given; its Last-Modified becomes the file's mtime).

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Duplex, PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BerthError } from '../../proto/errors';
import { applyLayer } from '../diff';

type ArchiveCompression = 'none' | 'gzip' | 'bzip2' | 'xz';

const BLOCK = 512;
/** What an ADD may unpack, as a layer pull limits it. */
const LIMITS = { maxLayerBytes: 8 * 1024 ** 3, maxHeaderBytes: 1024 * 1024 };

async function compressionOf(file: string): Promise<ArchiveCompression> {
  const handle = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(6);
    const { bytesRead } = await handle.read(head, 0, 6, 0);
    const b = head.subarray(0, bytesRead);
    if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
    if (b.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
    if (b.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
    return 'none';
  } finally {
    await handle.close();
  }
}

function decompress(compression: ArchiveCompression): Duplex {
  switch (compression) {
    case 'none':
      return new PassThrough();
    case 'gzip':
      return createGunzip();
    case 'bzip2':
    case 'xz': {
      const child = spawn(compression, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'ignore'] });
      const duplex = Duplex.from({ writable: child.stdin, readable: child.stdout });
      child.on('error', (err) => duplex.destroy(new BerthError('internal', `cannot run ${compression}: ${err.message}`)));
      duplex.on('close', () => {
        if (child.exitCode === null) child.kill('SIGTERM');
      });
      return duplex;
    }
  }
}

/** Whether a file is a tar archive, compressed or not: its first 512 bytes (decompressed) are a valid tar header. */
export async function isArchive(file: string): Promise<boolean> {
  const compression = await compressionOf(file);
  const stream = createReadStream(file).pipe(decompress(compression));
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= BLOCK) break;
    }
  } catch {
    return false;
  } finally {
    stream.destroy();
  }
  return length >= BLOCK && validTarHeader(Buffer.concat(chunks).subarray(0, BLOCK));
}

function validTarHeader(block: Buffer): boolean {
  const stored = parseInt(block.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
  if (!Number.isFinite(stored)) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === stored;
}

/** Unpack an archive into `dir` (a directory of a step's mounted root), confined to it. */
export async function unpackArchive(file: string, dir: string): Promise<void> {
  const compression = await compressionOf(file);
  const tar = new PassThrough();
  await Promise.all([
    pipeline(createReadStream(file), decompress(compression), tar),
    applyLayer(tar, dir, LIMITS, { plain: true }),
  ]);
}

/**
 * ADD https://...: the file into `dir`, named after the URL's last path segment. Returns that name.
 * A `checksum` (sha256:hex) that does not match fails the step.
 */
export async function download(url: string, dir: string, checksum: string | undefined, signal: AbortSignal): Promise<string> {
  // The name is the decoded path's last segment (decoded first: %2F is a slash), and it only ever
  // names the file at its destination; the bytes go to a fixed file of ours ("download").
  let decoded: string;
  try {
    decoded = decodeURIComponent(new URL(url).pathname);
  } catch {
    throw new BerthError('invalid-argument', `ADD ${url}: not a valid URL`);
  }
  const name = path.posix.basename(decoded);
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0') || decoded.endsWith('/')) {
    throw new BerthError('invalid-argument', `ADD ${url}: the URL names no file (its path must end in a file name)`);
  }
  if (checksum !== undefined && !/^sha256:[a-f0-9]{64}$/.test(checksum)) throw new BerthError('invalid-argument', `ADD --checksum=${checksum}: expected sha256:<64 hex digits>`);
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'follow' });
  } catch (err) {
    throw new BerthError('unavailable', `ADD ${url}: ${(err as Error).message}`);
  }
  if (!response.ok || !response.body) throw new BerthError('unavailable', `ADD ${url}: the server answered ${response.status} ${response.statusText}`);
  const file = path.join(dir, 'download');
  const hash = createHash('sha256');
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(body, createWriteStream(file, { mode: 0o600 }));
  const digest = `sha256:${hash.digest('hex')}`;
  if (checksum !== undefined && digest !== checksum) throw new BerthError('data-loss', `ADD ${url}: checksum mismatch: expected ${checksum}, got ${digest}`);
  const modified = response.headers.get('last-modified');
  const when = modified ? new Date(modified) : undefined;
  if (when && !Number.isNaN(when.getTime())) await fs.utimes(file, when, when);
  return name;
}
