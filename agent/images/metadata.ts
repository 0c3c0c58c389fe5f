// The agent's image records: which images exist and which names point at them.
//
// One JSON document, rewritten atomically (temp file, fsync, rename) on every change, and changes
// serialized through one queue. Records are frozen: callers get the stored objects and must not
// mutate them. A name (repo:tag) points at exactly one image: giving it to another image takes it
// from the first, which then may become dangling (no tags left).

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { BerthError } from '../../proto/errors';
import type { ImageRecord } from './types';
import type { Digest } from '../oci';

interface Document {
  version: 1;
  images: ImageRecord[];
}

export class ImageMetadata {
  private images = new Map<Digest, ImageRecord>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly file: string) {}

  static async open(file: string): Promise<ImageMetadata> {
    const store = new ImageMetadata(file);
    try {
      const doc = JSON.parse(await fs.readFile(file, 'utf8')) as Document;
      for (const image of doc.images) store.images.set(image.id, Object.freeze(image));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new BerthError('internal', `image metadata ${file} is unreadable: ${(err as Error).message}`, { cause: err });
      }
    }
    return store;
  }

  list(): ImageRecord[] {
    return [...this.images.values()];
  }

  get(id: Digest): ImageRecord | undefined {
    return this.images.get(id);
  }

  /** The image a tag (repo:tag) or repo digest (repo@sha256:…) names. */
  byName(name: string): ImageRecord | undefined {
    for (const image of this.images.values()) {
      if (image.repoTags.includes(name) || image.repoDigests.includes(name)) return image;
    }
    return undefined;
  }

  /** Images whose ID starts with `prefix` (hex, with or without "sha256:"). */
  byIdPrefix(prefix: string): ImageRecord[] {
    const hex = prefix.startsWith('sha256:') ? prefix.slice(7) : prefix;
    if (!/^[a-f0-9]+$/.test(hex)) return [];
    return this.list().filter((i) => i.id.slice(7).startsWith(hex));
  }

  /**
   * Store an image, merging names with an existing record of the same ID, and take each of its
   * tags away from any other image.
   */
  put(image: ImageRecord): Promise<ImageRecord> {
    return this.mutate(() => {
      const existing = this.images.get(image.id);
      const merged: ImageRecord = existing
        ? {
            ...existing,
            repoTags: unique([...existing.repoTags, ...image.repoTags]),
            repoDigests: unique([...existing.repoDigests, ...image.repoDigests]),
          }
        : image;
      for (const tag of image.repoTags) this.untagOthers(tag, image.id);
      this.images.set(image.id, Object.freeze(merged));
      return merged;
    });
  }

  /** Point `tag` at image `id`. */
  tag(id: Digest, tag: string): Promise<void> {
    return this.mutate(() => {
      const image = this.images.get(id);
      if (!image) throw new BerthError('not-found', `no such image: ${id}`);
      this.untagOthers(tag, id);
      if (!image.repoTags.includes(tag)) {
        this.images.set(id, Object.freeze({ ...image, repoTags: [...image.repoTags, tag] }));
      }
    });
  }

  /** Remove one name; returns the image as it is afterwards. */
  untag(id: Digest, name: string): Promise<ImageRecord> {
    return this.mutate(() => {
      const image = this.images.get(id);
      if (!image) throw new BerthError('not-found', `no such image: ${id}`);
      const updated = Object.freeze({
        ...image,
        repoTags: image.repoTags.filter((t) => t !== name),
        repoDigests: image.repoDigests.filter((d) => d !== name),
      });
      this.images.set(id, updated);
      return updated;
    });
  }

  delete(id: Digest): Promise<void> {
    return this.mutate(() => {
      this.images.delete(id);
    });
  }

  private untagOthers(tag: string, keep: Digest): void {
    for (const other of this.images.values()) {
      if (other.id !== keep && other.repoTags.includes(tag)) {
        this.images.set(other.id, Object.freeze({ ...other, repoTags: other.repoTags.filter((t) => t !== tag) }));
      }
    }
  }

  /** Apply a change in memory, then persist; changes run one at a time, in order. */
  private mutate<T>(change: () => T): Promise<T> {
    const run = this.queue.then(async () => {
      const before = new Map(this.images);
      let result: T;
      try {
        result = change();
        await this.persist();
      } catch (err) {
        this.images = before;
        throw err;
      }
      return result;
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private async persist(): Promise<void> {
    const doc: Document = { version: 1, images: this.list() };
    const tmp = `${this.file}.tmp`;
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    const handle = await fs.open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(doc));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, this.file);
  }
}

const unique = <T>(xs: T[]): T[] => [...new Set(xs)];
