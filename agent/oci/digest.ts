// Content digests (`sha256:<64 hex>`): parsing, hashing, and a pass-through verifier that counts
// and hashes bytes as they stream and fails at the end if they are not what the descriptor named.

import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BerthError } from '../../proto/errors';
import type { Digest } from './types';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export const isDigest = (s: unknown): s is Digest => typeof s === 'string' && DIGEST_RE.test(s);

/** Validate a digest string; anything but lowercase sha256 is refused with 'invalid-argument'. */
export function parseDigest(s: string): Digest {
  if (isDigest(s)) return s;
  const alg = s.includes(':') ? s.slice(0, s.indexOf(':')) : '';
  if (alg && alg !== 'sha256') {
    throw new BerthError('invalid-argument', `invalid digest "${s}": unsupported algorithm ${alg} (only sha256)`);
  }
  throw new BerthError('invalid-argument', `invalid digest "${s}": expected sha256:<64 lowercase hex>`);
}

/** The hex part of a digest. */
export const encodedOf = (d: Digest): string => d.slice('sha256:'.length);

/** A short form for messages: sha256:0123456789ab. */
export const shortDigest = (d: string): string => d.slice(0, 'sha256:'.length + 12);

export function sha256(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Incremental sha256 that also counts bytes. */
export class Hasher {
  private readonly hash: Hash = createHash('sha256');
  size = 0;
  update(chunk: Buffer): this {
    this.hash.update(chunk);
    this.size += chunk.length;
    return this;
  }
  digest(): Digest {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/**
 * A Transform that passes bytes through unchanged and, at the end, errors with 'data-loss' if
 * their count is not `expected.size` or their sha256 is not `expected.digest`. Consumers must not
 * trust the data until the stream has finished without error. Too many bytes fail as soon as the
 * excess arrives, so a lying server cannot make us buffer or write without bound.
 */
export class VerifyingStream extends Transform {
  private readonly hasher = new Hasher();
  constructor(private readonly expected: { digest: Digest; size: number }, private readonly what = 'blob') {
    super();
  }
  get received(): number {
    return this.hasher.size;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hasher.update(chunk);
    if (this.hasher.size > this.expected.size) {
      done(sizeMismatch(this.what, this.expected.digest, this.hasher.size, this.expected.size));
      return;
    }
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    done(checkDigest(this.what, this.expected, this.hasher.size, this.hasher.digest()));
  }
}

export function sizeMismatch(what: string, digest: Digest, got: number, expected: number): BerthError {
  return new BerthError('data-loss', `${what} ${digest}: got ${got} bytes, expected ${expected}`);
}

/** null when size and digest match, else the 'data-loss' error to report. */
export function checkDigest(what: string, expected: { digest: Digest; size: number }, size: number, got: Digest): BerthError | null {
  if (size !== expected.size) return sizeMismatch(what, expected.digest, size, expected.size);
  if (got !== expected.digest) return new BerthError('data-loss', `${what} ${expected.digest}: digest mismatch: got ${got}`);
  return null;
}
