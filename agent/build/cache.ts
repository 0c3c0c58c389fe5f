// The build cache: what a build step made, by the step's cache key, so that a step whose inputs
// are unchanged is not run again. <data root>/build-cache.json, rewritten atomically.
//
// A key is a digest of everything a step's result depends on (cache-keys.ts). An entry records
// the layer stack after the step (the layers below and the step's own, if it changed any file),
// and the image service keeps those layers' blobs and snapshots for as long as the entry lives,
// though no image may have them. `prune` drops entries (all, or the least recently used beyond
// a size), and the next collection frees what only they kept. A layer a build made is kept as a
// plain-tar blob until an image names it gzipped; entries then name the gzipped blob (useBlob).
// A layer of a stage no image of its build has is kept as its snapshot only, its tar unwritten
// (as BuildKit does): entries name it by that snapshot's ID until it is written (useRecord).

import * as fs from 'node:fs/promises';
import type { KeptLayer, LayerRecord } from '../images';
import type { Digest } from '../oci';

/** A layer made by a build whose tar was never written: known by its snapshot's ID only. */
export interface UnwrittenRef {
  unwritten: Digest;
}

/** A layer as an entry names it. */
export type CachedLayer = LayerRecord | UnwrittenRef;

export const isUnwritten = (layer: CachedLayer): layer is UnwrittenRef => 'unwritten' in layer;

/** The snapshot that holds a cached layer. */
export const snapshotOf = (layer: CachedLayer): Digest => (isUnwritten(layer) ? layer.unwritten : layer.chainId);

export interface CacheEntry {
  /** The whole layer stack after the step, bottom first. */
  layers: CachedLayer[];
  /** False when the step changed no file (no layer of its own). */
  madeLayer: boolean;
  /** Unpacked bytes of the step's own layer. */
  size: number;
  created: string;
  lastUsed: string;
}

export class BuildCache {
  private writing: Promise<void> = Promise.resolve();
  /** Unwritten layers written since the agent started (useRecord): a put naming one names the record instead. */
  private readonly written = new Map<Digest, LayerRecord>();

  private constructor(
    private readonly file: string,
    private readonly entries: Map<string, CacheEntry>,
  ) {}

  static async open(file: string): Promise<BuildCache> {
    let entries = new Map<string, CacheEntry>();
    try {
      entries = new Map(Object.entries(JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, CacheEntry>));
    } catch (err) {
      // A missing file is an empty cache; a damaged one is dropped (it is only a cache).
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
    }
    return new BuildCache(file, entries);
  }

  get(key: Digest): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry) entry.lastUsed = new Date().toISOString();
    return entry;
  }

  /** `created`: when the step made its result (now unless given: the entry may be put later). */
  async put(key: Digest, entry: Omit<CacheEntry, 'created' | 'lastUsed'> & { created?: string }): Promise<CacheEntry> {
    const now = new Date().toISOString();
    // The layers as given: an entry names only blobs its put was given, which the collector
    // keeps from then on (a remembered substitute could name one collected meanwhile).
    const layers = entry.layers.map((l) => (isUnwritten(l) ? this.written.get(l.unwritten) ?? l : l));
    const stored = { ...entry, layers, created: entry.created ?? now, lastUsed: now };
    this.entries.set(key, stored);
    await this.persist();
    return stored;
  }

  /**
   * Name `layer` (gzipped for an image) wherever an entry has its plain-tar form (the same chain
   * ID): the cache then keeps the blob the images have, and the plain one can go.
   */
  async useBlob(layer: LayerRecord): Promise<void> {
    let changed = false;
    for (const entry of this.entries.values()) {
      entry.layers = entry.layers.map((l) => {
        if (isUnwritten(l) || l.chainId !== layer.chainId || l.descriptor.digest === layer.descriptor.digest) return l;
        changed = true;
        return layer;
      });
    }
    for (const [id, l] of this.written) if (l.chainId === layer.chainId) this.written.set(id, layer);
    if (changed) await this.persist();
  }

  /**
   * Name `layer` wherever an entry has the unwritten layer `id` (its tar written since): the
   * unwritten snapshot can then go, as the written one has the same files.
   */
  async useRecord(id: Digest, layer: LayerRecord): Promise<void> {
    this.written.set(id, layer);
    let changed = false;
    for (const entry of this.entries.values()) {
      entry.layers = entry.layers.map((l) => {
        if (!isUnwritten(l) || l.unwritten !== id) return l;
        changed = true;
        return layer;
      });
    }
    if (changed) await this.persist();
  }

  /** Every layer an entry keeps: the roots the image service's collector must not free. */
  *layers(): Iterable<KeptLayer> {
    for (const entry of this.entries.values()) {
      for (const l of entry.layers) yield isUnwritten(l) ? { snapshot: l.unwritten } : { snapshot: l.chainId, blob: l.descriptor.digest };
    }
  }

  /** Entries and the bytes of their own layers (what `builder du` shows). */
  usage(): { entries: number; bytes: number } {
    let bytes = 0;
    for (const e of this.entries.values()) bytes += e.size;
    return { entries: this.entries.size, bytes };
  }

  /**
   * Drop every entry, or with `keepBytes` the least recently used until the rest's own layers
   * fit. Returns how many entries went.
   */
  async prune(options: { keepBytes?: number } = {}): Promise<number> {
    const byAge = [...this.entries.entries()].sort((a, b) => a[1].lastUsed.localeCompare(b[1].lastUsed));
    let total = byAge.reduce((sum, [, e]) => sum + e.size, 0);
    let removed = 0;
    for (const [key, entry] of byAge) {
      if (options.keepBytes !== undefined && total <= options.keepBytes) break;
      this.entries.delete(key);
      total -= entry.size;
      removed++;
    }
    await this.persist();
    return removed;
  }

  /** Writes are serialized and atomic (a temporary file renamed over the old). */
  private persist(): Promise<void> {
    const write = async () => {
      const tmp = `${this.file}.tmp`;
      await fs.writeFile(tmp, JSON.stringify(Object.fromEntries(this.entries)));
      await fs.rename(tmp, this.file);
    };
    this.writing = this.writing.then(write, write);
    return this.writing;
  }

  /** Save the last-used times get() moved (after a build). */
  flush(): Promise<void> {
    return this.persist();
  }
}
