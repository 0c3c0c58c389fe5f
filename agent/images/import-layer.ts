// A new layer on an image's stack becomes a new image, stored exactly as a pull of that image
// would store it: what `berth commit` asks of the image store once the runtime has the diff of a
// container's writable layer.
//
// The layer is written once, streamed: tar (hashed by its writer: the diff ID) -> gzip (hashed:
// the blob digest) -> a spool file on the data root. The content store wants the digest before
// the bytes, so the spool is then streamed into an ingest. The new layer's snapshot is unpacked
// from the stored blob by the pull's own code, so a container of the committed image sees what
// any other agent pulling it would see. The image record is written last: an import that fails
// leaves no image (its blobs are collected later, as a failed pull's are).

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { BerthError, withContext } from '../../proto/errors';
import { type Descriptor, type Digest, familiarName, type HistoryEntry, type ImageConfig, MediaType, parseReference } from '../oci';
import { ensureLayers, layerRecords, type PullDeps } from './pull';
import type { ImageRecord, ImportLayerArgs } from './types';

export interface ImportLayerDeps extends PullDeps {
  /** Scratch directory on the data root's filesystem for the layer spool. */
  scratch: string;
}

export async function importLayer(deps: ImportLayerDeps, args: ImportLayerArgs): Promise<ImageRecord> {
  // Checked before any work, so a bad name writes nothing.
  const tag = args.repoTag === undefined ? undefined : tagOf(args.repoTag);
  const { content } = deps;
  const created = (args.now ?? new Date()).toISOString();

  await fs.mkdir(deps.scratch, { recursive: true });
  const spool = path.join(deps.scratch, `commit-${randomBytes(8).toString('hex')}.tar.gz`);
  try {
    const layer = await spoolLayer(args.writeTar, spool);
    const ingest = await content.ingest(layer.digest, layer.size);
    try {
      await pipeline(createReadStream(spool), new Transform({
        transform(chunk: Buffer, _enc, cb) {
          ingest.write(chunk).then(() => cb(), cb);
        },
      }));
      await ingest.commit();
    } catch (err) {
      await ingest.abort();
      throw err;
    }

    const parentConfig = JSON.parse((await content.read(args.parent.id)).toString('utf8')) as ImageConfig;
    const config = newConfig(parentConfig, args, layer.diffId, created);
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDigest = await content.put(configBytes);

    const layerDesc: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: layer.digest, size: layer.size };
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
      layers: [...args.parent.layers.map((l) => ociDescriptor(l.descriptor)), layerDesc],
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestDigest = await content.put(manifestBytes);

    const layers = layerRecords(manifest.layers, config.rootfs.diff_ids);
    const sizes = await ensureLayers(deps, undefined, layers, () => {});
    return await deps.metadata.put({
      id: configDigest,
      manifest: { mediaType: MediaType.ociManifest, digest: manifestDigest, size: manifestBytes.length },
      repoTags: tag ? [tag] : [],
      repoDigests: [],
      layers,
      platform: args.parent.platform,
      created,
      size: sizes.reduce((a, b) => a + b, 0),
    });
  } catch (err) {
    throw withContext('commit', err);
  } finally {
    await fs.rm(spool, { force: true });
  }
}

/** The familiar name[:tag] a commit records, :latest when no tag is given, as docker does. */
function tagOf(repoTag: string): string {
  const ref = parseReference(repoTag);
  if (ref.digest) throw new BerthError('invalid-argument', `invalid reference "${repoTag}": a commit is named by a tag, not a digest`);
  return `${familiarName(ref)}:${ref.tag ?? 'latest'}`;
}

function newConfig(parent: ImageConfig, args: ImportLayerArgs, diffId: Digest, created: string): ImageConfig {
  // A parent without history still gets one row per layer, so rows and layers stay aligned.
  const history: HistoryEntry[] = parent.history?.length
    ? [...parent.history]
    : parent.rootfs.diff_ids.map(() => ({ created_by: '' }));
  const entry: HistoryEntry = { created, created_by: args.createdBy ?? '' };
  if (args.author) entry.author = args.author;
  if (args.message) entry.comment = args.message;
  history.push(entry);
  const config: ImageConfig = {
    ...structuredClone(parent),
    created,
    config: { ...parent.config, ...args.containerConfig },
    rootfs: { type: 'layers', diff_ids: [...parent.rootfs.diff_ids, diffId] },
    history,
  };
  if (args.author) config.author = args.author;
  else delete config.author;
  return config;
}

// The manifest is OCI, so the parent's Docker-typed layers are named by their OCI equivalents:
// the same blobs, the same bytes.
function ociDescriptor(d: Descriptor): Descriptor {
  const mediaType =
    d.mediaType === MediaType.dockerLayerGzip ? MediaType.ociLayerGzip
      : d.mediaType === MediaType.dockerLayerForeignGzip ? MediaType.ociLayerNondistributableGzip
        : d.mediaType;
  return { ...d, mediaType };
}

interface SpooledLayer {
  diffId: Digest;
  /** Digest and size of the gzip blob. */
  digest: Digest;
  size: number;
}

async function spoolLayer(writeTar: ImportLayerArgs['writeTar'], file: string): Promise<SpooledLayer> {
  const gzip = zlib.createGzip();
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  const written = pipeline(gzip, count, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  let tar: { diffId: Digest };
  try {
    tar = await writeTar(gzip);
    gzip.end();
  } catch (err) {
    gzip.destroy(err as Error);
    await written.catch(() => {});
    throw err;
  }
  await written;
  return { diffId: tar.diffId, digest: `sha256:${hash.digest('hex')}`, size };
}
