// Layer decompression and diff-ID hashing, as stream stages.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Duplex, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BerthError } from '../../proto/errors';
import type { Compression, Digest } from '../oci';

/**
 * A stage that decompresses a layer. Node 20's zlib has no zstd, so zstd layers go through the
 * zstd binary (Debian package zstd), which is also faster than any JS port.
 */
export function decompressor(compression: Compression): Duplex {
  switch (compression) {
    case 'gzip':
      // 256 KiB chunks: fewer, larger writes downstream than zlib's 16 KiB default.
      return createGunzip({ chunkSize: 256 * 1024 });
    case 'zstd':
      return zstdDecompressor();
    case 'none':
      return new Transform({ transform: (chunk, _enc, cb) => cb(null, chunk) });
  }
}

function zstdDecompressor(): Duplex {
  const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const duplex = Duplex.from({ writable: child.stdin, readable: child.stdout });
  child.on('error', (err) => duplex.destroy(new BerthError('internal', `cannot run zstd: ${err.message}`, { cause: err })));
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') {
      duplex.destroy(new BerthError('invalid-argument', `zstd decompression failed: ${stderr.trim() || `exit ${code}`}`));
    }
  });
  // A consumer that gives up must not leave the child behind.
  duplex.on('close', () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  return duplex;
}

/**
 * Passes bytes through while hashing them into the diff ID and refusing to inflate past
 * `maxBytes` (a decompression bomb is stopped as it inflates, not after it filled the disk).
 */
export class DiffIdHasher extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      cb(new BerthError('resource-exhausted', `layer inflates past the limit of ${this.maxBytes} bytes (decompression bomb?)`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  /** The diff ID; valid once the stream has ended. */
  digest(): Digest {
    return `sha256:${this.hash.digest('hex')}` as Digest;
  }
}
