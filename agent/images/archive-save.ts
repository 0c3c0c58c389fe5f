// berth save: images as one archive in the format of archive.ts, every blob written once however
// many images share it, streamed from the content store.

import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack, type Header, type Pack } from 'tar-stream';
import { BerthError, withContext } from '../../proto/errors';
import type { ContentReader } from '../content';
import { type Descriptor, type Digest, encodedOf, familiarString, formatReference, MediaType, parseReference } from '../oci';
import type { ImageRecord } from './types';
import { IMAGE_NAME, REF_NAME, blobPath, type DockerManifestEntry } from './archive';

const FIXED_MTIME = new Date(0);

export interface SaveEntry {
  image: ImageRecord;
  /** The tag the user named it by (familiar form, e.g. busybox:latest); absent when named by ID. */
  name?: string;
}

/**
 * Write `entries` as one archive to `out`, ending it. Every blob is written once however many
 * images share it, streamed from the content store.
 */
export async function saveImages(content: ContentReader, entries: SaveEntry[], out: Writable): Promise<void> {
  const pack = tarPack();
  const piping = pipeline(pack, out);
  try {
    await writeArchive(content, entries, pack);
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    await piping.catch(() => {});
    throw err;
  }
  await piping;
}

async function writeArchive(content: ContentReader, entries: SaveEntry[], pack: Pack): Promise<void> {
  // One image per ID, in the order first named, with every name it was asked for.
  const images = new Map<Digest, { image: ImageRecord; names: string[] }>();
  for (const { image, name } of entries) {
    const seen = images.get(image.id) ?? { image, names: [] };
    if (name && !seen.names.includes(name)) seen.names.push(name);
    images.set(image.id, seen);
  }

  await addEntry(pack, { name: 'blobs/', type: 'directory', mode: 0o755 });
  await addEntry(pack, { name: 'blobs/sha256/', type: 'directory', mode: 0o755 });
  const written = new Set<Digest>();
  const writeBlob = async (digest: Digest, what: string): Promise<void> => {
    if (written.has(digest)) return;
    const size = await content.size(digest);
    if (size === undefined) throw new BerthError('not-found', `${what} ${digest} is not in the content store`);
    await addEntry(pack, { name: blobPath(digest), size, mode: 0o644 }, content.open(digest));
    written.add(digest);
  };

  const index: Descriptor[] = [];
  const dockerManifest: DockerManifestEntry[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const { image, names } of images.values()) {
    const label = names[0] ?? image.id;
    try {
      await writeBlob(image.manifest.digest, 'manifest');
      await writeBlob(image.id, 'config');
      for (const layer of image.layers) await writeBlob(layer.descriptor.digest, `layer`);
    } catch (err) {
      throw withContext(`image ${label}`, err);
    }
    const manifest = { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size };
    if (names.length === 0) index.push(manifest);
    for (const name of names) {
      const ref = parseReference(name);
      index.push({ ...manifest, annotations: { [IMAGE_NAME]: formatReference(ref), [REF_NAME]: ref.tag ?? 'latest' } });
      const repo = familiarString({ domain: ref.domain, path: ref.path });
      (repositories[repo] ??= {})[ref.tag ?? 'latest'] = encodedOf(image.id);
    }
    dockerManifest.push({ Config: blobPath(image.id), RepoTags: names.length ? names : null, Layers: image.layers.map((l) => blobPath(l.descriptor.digest)) });
  }

  const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
  await addEntry(pack, { name: 'index.json', mode: 0o644 }, json({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: index }));
  await addEntry(pack, { name: 'manifest.json', mode: 0o644 }, json(dockerManifest));
  await addEntry(pack, { name: 'oci-layout', mode: 0o644 }, json({ imageLayoutVersion: '1.0.0' }));
  if (Object.keys(repositories).length > 0) await addEntry(pack, { name: 'repositories', mode: 0o644 }, json(repositories));
}


/** Add one tar entry; a stream body is piped (backpressure kept), a buffer written whole. */
function addEntry(pack: Pack, header: EntryHeader, body: Buffer | Readable = Buffer.alloc(0)): Promise<void> {
  const full: EntryHeader = { mtime: FIXED_MTIME, uid: 0, gid: 0, ...header };
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (Buffer.isBuffer(body)) {
      pack.entry({ ...full, size: body.length }, body, done);
      return;
    }
    const entry = pack.entry(full, done);
    body.once('error', (err) => {
      entry.destroy(err);
      reject(err);
    });
    body.pipe(entry as unknown as Writable);
  });
}

type EntryHeader = Partial<Header> & Pick<Header, 'name'>;

