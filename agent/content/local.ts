// The content store on the agent's disk: <root>/blobs/sha256/<hex>, <root>/ingest/<random>.

import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError } from '../../proto/errors';
import type { Digest } from '../oci';
import type { ContentStore, Ingest } from './types';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

function hexOf(digest: Digest): string {
  if (!DIGEST_RE.test(digest)) throw new BerthError('invalid-argument', `invalid digest "${digest}"`);
  return digest.slice('sha256:'.length);
}

export async function openContentStore(root: string): Promise<ContentStore> {
  const blobs = path.join(root, 'blobs', 'sha256');
  const ingestDir = path.join(root, 'ingest');
  // Private images' layers and configs live here: root's alone (also for a store made before).
  await fs.mkdir(blobs, { recursive: true, mode: 0o700 });
  await fs.chmod(root, 0o700);
  // Ingests are private to one process' lifetime: whatever is left is from a crash.
  await fs.rm(ingestDir, { recursive: true, force: true });
  await fs.mkdir(ingestDir, { recursive: true, mode: 0o700 });
  return new LocalContentStore(blobs, ingestDir);
}

class LocalContentStore implements ContentStore {
  constructor(private readonly blobs: string, private readonly ingestDir: string) {}

  pathOf(digest: Digest): string {
    return path.join(this.blobs, hexOf(digest));
  }

  async size(digest: Digest): Promise<number | undefined> {
    try {
      return (await fs.stat(this.pathOf(digest))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async read(digest: Digest): Promise<Buffer> {
    try {
      return await fs.readFile(this.pathOf(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BerthError('not-found', `blob ${digest} not found`);
      throw err;
    }
  }

  open(digest: Digest): Readable {
    return createReadStream(this.pathOf(digest));
  }

  async ingest(digest: Digest, size?: number): Promise<Ingest> {
    hexOf(digest);
    const file = path.join(this.ingestDir, randomBytes(12).toString('hex'));
    const handle = await fs.open(file, 'wx', 0o644);
    return new FileIngest(handle, file, this.pathOf(digest), digest, size);
  }

  async adopt(file: string, digest: Digest, size: number): Promise<void> {
    const target = this.pathOf(digest);
    try {
      if ((await this.size(digest)) !== undefined) return;
      const handle = await fs.open(file, 'r');
      try {
        const actual = (await handle.stat()).size;
        if (actual !== size) throw new BerthError('data-loss', `blob ${digest}: ${file} has ${actual} bytes, expected ${size}`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        // rename() is atomic, as an ingest's commit: absent, or the whole blob.
        await fs.rename(file, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        await this.copyIn(file, digest, size);
      }
    } finally {
      await fs.rm(file, { force: true });
    }
  }

  private async copyIn(file: string, digest: Digest, size: number): Promise<void> {
    const ingest = await this.ingest(digest, size);
    try {
      for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) await ingest.write(chunk as Buffer);
      await ingest.commit();
    } catch (err) {
      await ingest.abort();
      throw err;
    }
  }

  async put(bytes: Buffer, digest?: Digest): Promise<Digest> {
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    if (digest && digest !== actual) {
      throw new BerthError('data-loss', `digest mismatch: content is ${actual}, expected ${digest}`);
    }
    if ((await this.size(actual)) === bytes.length) return actual;
    const ingest = await this.ingest(actual, bytes.length);
    try {
      await ingest.write(bytes);
      await ingest.commit();
    } catch (err) {
      await ingest.abort();
      throw err;
    }
    return actual;
  }

  async delete(digest: Digest): Promise<void> {
    await fs.rm(this.pathOf(digest), { force: true });
  }

  async list(): Promise<Digest[]> {
    return (await fs.readdir(this.blobs)).map((hex) => `sha256:${hex}` as Digest);
  }
}

class FileIngest implements Ingest {
  private readonly hash: Hash = createHash('sha256');
  private written = 0;
  private done = false;

  constructor(
    private readonly handle: fs.FileHandle,
    private readonly file: string,
    private readonly target: string,
    private readonly digest: Digest,
    private readonly expectedSize: number | undefined,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    this.written += chunk.length;
    if (this.expectedSize !== undefined && this.written > this.expectedSize) {
      throw new BerthError('data-loss', `blob ${this.digest}: more than the expected ${this.expectedSize} bytes`);
    }
    await this.handle.write(chunk);
  }

  async commit(): Promise<void> {
    if (this.done) return;
    const actual = `sha256:${this.hash.digest('hex')}`;
    if (this.expectedSize !== undefined && this.written !== this.expectedSize) {
      await this.abort();
      throw new BerthError('data-loss', `blob ${this.digest}: got ${this.written} bytes, expected ${this.expectedSize}`);
    }
    if (actual !== this.digest) {
      await this.abort();
      throw new BerthError('data-loss', `blob ${this.digest}: digest mismatch, content is ${actual}`);
    }
    await this.handle.sync();
    await this.handle.close();
    this.done = true;
    // rename() is atomic: readers see the old state (absent) or the whole verified blob.
    await fs.rename(this.file, this.target);
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.handle.close().catch(() => {});
    await fs.rm(this.file, { force: true });
  }
}
