// berth load: every image of an archive, read as what `save` writes (archive.ts), plain OCI
// layouts (skopeo's oci-archive) and docker save's format, old or new (skopeo's docker-archive,
// `<id>/layer.tar` layers and `<hex>.json` configs).
//
// Tar members come in any order, so the tar is read to the end first: members named
// blobs/sha256/<hex> go straight into the content store (which verifies them against their name
// before they become visible), everything else is spooled to a private directory that is removed
// afterwards. Only when every image of the archive is verified and all its layers are unpacked are
// image records written, so a bad archive leaves no image behind (verified blobs and snapshots
// that completed may stay, as after a failed pull, for the garbage collector).

import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { extract as tarExtract } from 'tar-stream';
import { BerthError, withContext } from '../../proto/errors';
import type { ContentStore } from '../content';
import {
  CONFIG_TYPES, DEFAULT_PLATFORM, type Descriptor, detectCompression, type Digest, familiarString,
  formatPlatform, Hasher, type ImageConfig, isDigest, isIndexType, isManifestType, layerCompression,
  layerMediaType, MediaType, parseJson, parseReference, selectManifest, validateDocument,
} from '../oci';
import { ensureLayers, layerRecords, type PullDeps } from './pull';
import type { LayerRecord, ProgressSink } from './types';
import { IMAGE_NAME, REF_NAME, blobPath, type DockerManifestEntry } from './archive';

const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
const MAX_LINK_HOPS = 16;

export interface LoadDeps extends PullDeps {
  content: ContentStore;
  /** A directory on the data root's filesystem for spooled members (a private subdirectory is made and removed). */
  spoolRoot: string;
}

export interface LoadOptions {
  onProgress?: ProgressSink;
}

/** One member of the archive, after reading it. */
type Member =
  /** A blobs/sha256/<hex> file, now verified in the content store. */
  | { kind: 'blob'; digest: Digest; size: number; head: Buffer }
  /** Any other file, spooled; digest computed while spooling. */
  | { kind: 'file'; file: string; digest: Digest; size: number; head: Buffer };

interface Archive {
  members: Map<string, Member>;
  /** Symbolic and hard links: member name -> member name it points at. */
  links: Map<string, string>;
}

/** An image of the archive, verified, with every blob in the content store. */
interface LoadPlan {
  names: string[];
  manifest: Descriptor;
  index?: Descriptor;
  config: ImageConfig;
  configDigest: Digest;
  layers: LayerRecord[];
}

/**
 * Load every image of an archive. Returns, per image, its names (familiar, e.g. busybox:latest),
 * or its ID when it has none: what `docker load` prints as "Loaded image: …" / "Loaded image ID: …".
 */
export async function loadArchive(deps: LoadDeps, input: Readable, options: LoadOptions = {}): Promise<string[]> {
  const progress: ProgressSink = options.onProgress ?? (() => {});
  await fs.mkdir(deps.spoolRoot, { recursive: true });
  const spool = await fs.mkdtemp(path.join(deps.spoolRoot, 'load-'));
  try {
    const archive = await readArchive(deps.content, input, spool);
    const plans = archive.members.has('index.json') || archive.links.has('index.json')
      ? await planOciLayout(deps, archive)
      : await planDockerArchive(deps, archive);
    if (plans.length === 0) throw new BerthError('invalid-argument', 'archive holds no images');

    // Unpack everything before any record is written: all of the archive's images, or none.
    const sizes: number[][] = [];
    for (const plan of plans) {
      try {
        sizes.push(await ensureLayers(deps, undefined, plan.layers, progress));
      } catch (err) {
        throw withContext(`image ${plan.names[0] ?? plan.configDigest}`, err);
      }
    }

    const loaded: string[] = [];
    for (const [i, plan] of plans.entries()) {
      const { config } = plan;
      await deps.metadata.put({
        id: plan.configDigest,
        manifest: { mediaType: plan.manifest.mediaType, digest: plan.manifest.digest, size: plan.manifest.size },
        ...(plan.index ? { index: { mediaType: plan.index.mediaType, digest: plan.index.digest, size: plan.index.size } } : {}),
        repoTags: plan.names,
        repoDigests: [],
        layers: plan.layers,
        platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) },
        created: config.created ?? new Date().toISOString(),
        size: sizes[i]!.reduce((a, b) => a + b, 0),
      });
      loaded.push(...(plan.names.length ? plan.names : [plan.configDigest]));
    }
    return loaded;
  } finally {
    await fs.rm(spool, { recursive: true, force: true });
  }
}

const BLOB_MEMBER = /^blobs\/sha256\/([a-f0-9]{64})$/;

/** Read the whole tar: blobs into the content store, other files into `spool`. */
async function readArchive(content: ContentStore, input: Readable, spool: string): Promise<Archive> {
  const archive: Archive = { members: new Map(), links: new Map() };
  const extract = tarExtract();
  let inputError: unknown;
  input.once('error', (err) => {
    inputError = err;
    extract.destroy(err);
  });
  input.pipe(extract);
  let count = 0;
  try {
    for await (const entry of extract) {
      const header = entry.header;
      const name = memberName(header.name);
      const body = entry as unknown as AsyncIterable<Buffer>;
      try {
        if (name === undefined || (header.type !== 'file' && header.type !== 'contiguous-file')) {
          if (name !== undefined && header.type === 'symlink' && header.linkname) {
            const target = header.linkname.startsWith('/') ? header.linkname : path.posix.join(path.posix.dirname(name), header.linkname);
            const normal = memberName(target);
            if (normal !== undefined) archive.links.set(name, normal);
          } else if (name !== undefined && header.type === 'link' && header.linkname) {
            const normal = memberName(header.linkname);
            if (normal !== undefined) archive.links.set(name, normal);
          }
          entry.resume();
          continue;
        }
        const blob = BLOB_MEMBER.exec(name);
        const member = blob
          ? await ingestMember(content, body, `sha256:${blob[1]!}` as Digest, header.size ?? 0)
          : await spoolMember(body, path.join(spool, String(count++)));
        archive.members.set(name, member);
        archive.links.delete(name);
      } catch (err) {
        throw withContext(`archive member ${name ?? header.name}`, err);
      }
    }
  } catch (err) {
    // Reading the rest of a bad archive would only cost time: stop the sender.
    extract.destroy();
    input.unpipe(extract);
    input.destroy();
    if (inputError !== undefined) throw withContext('reading the archive', inputError);
    if (err instanceof BerthError) throw err;
    throw new BerthError('invalid-argument', `archive is not a readable tar: ${(err as Error).message}`, { cause: err });
  }
  return archive;
}

/** A member name in normal form (no leading ./ or /, no trailing /); undefined for the root. */
function memberName(raw: string): string | undefined {
  const n = path.posix.normalize(raw.replace(/^\/+/, '')).replace(/\/+$/, '');
  if (n === '' || n === '.') return undefined;
  if (n === '..' || n.startsWith('../')) throw new BerthError('invalid-argument', `archive member "${raw}" points outside the archive`);
  return n;
}

const HEAD_BYTES = 8;

async function ingestMember(content: ContentStore, entry: AsyncIterable<Buffer>, digest: Digest, size: number): Promise<Member> {
  let head = Buffer.alloc(0);
  if ((await content.size(digest)) === size) {
    for await (const chunk of entry) if (head.length < HEAD_BYTES) head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES)]);
    return { kind: 'blob', digest, size, head: head.subarray(0, HEAD_BYTES) };
  }
  const ingest = await content.ingest(digest, size);
  try {
    for await (const chunk of entry) {
      if (head.length < HEAD_BYTES) head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES)]);
      await ingest.write(chunk);
    }
    await ingest.commit();
  } catch (err) {
    await ingest.abort();
    throw err;
  }
  return { kind: 'blob', digest, size, head: head.subarray(0, HEAD_BYTES) };
}

async function spoolMember(entry: AsyncIterable<Buffer>, file: string): Promise<Member> {
  const hasher = new Hasher();
  let head = Buffer.alloc(0);
  const handle = await fs.open(file, 'wx', 0o600);
  try {
    for await (const chunk of entry) {
      hasher.update(chunk);
      if (head.length < HEAD_BYTES) head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES)]);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return { kind: 'file', file, digest: hasher.digest(), size: hasher.size, head: head.subarray(0, HEAD_BYTES) };
}

/** The member a name means, following links. */
function lookup(archive: Archive, name: string): Member | undefined {
  let current = memberName(name);
  for (let hops = 0; current !== undefined && hops <= MAX_LINK_HOPS; hops++) {
    const member = archive.members.get(current);
    if (member) return member;
    current = archive.links.get(current);
  }
  return undefined;
}

function requireMember(archive: Archive, name: string, what: string): Member {
  const member = lookup(archive, name);
  if (!member) throw new BerthError('invalid-argument', `archive member ${name} is missing (${what})`);
  return member;
}

/** Make a member's bytes a blob in the content store (verified), under the digest they hash to. */
async function storeMember(content: ContentStore, member: Member, name: string): Promise<Digest> {
  if (member.kind === 'blob' || (await content.size(member.digest)) === member.size) return member.digest;
  const ingest = await content.ingest(member.digest, member.size);
  try {
    for await (const chunk of createReadStream(member.file) as AsyncIterable<Buffer>) await ingest.write(chunk);
    await ingest.commit();
  } catch (err) {
    await ingest.abort();
    throw withContext(`archive member ${name}`, err);
  }
  return member.digest;
}

/** A small member's bytes (index.json, manifest.json, a docker config), refusing oversized ones. */
async function readSmall(content: ContentStore, member: Member, name: string, limit: number): Promise<Buffer> {
  if (member.size > limit) throw new BerthError('resource-exhausted', `archive member ${name} is ${member.size} bytes, more than the ${limit} allowed`);
  return member.kind === 'blob' ? content.read(member.digest) : fs.readFile(member.file);
}

// ---- OCI image layout ----

/**
 * Make sure a blob the layout's documents name is in the content store: it must be in the archive
 * under blobs/sha256/<hex> (verified against its name as it was read), or be there already.
 */
async function layoutBlob(deps: LoadDeps, archive: Archive, desc: Descriptor, what: string): Promise<void> {
  if (!isDigest(desc.digest)) throw new BerthError('invalid-argument', `${what}: invalid digest "${String(desc.digest)}"`);
  const name = blobPath(desc.digest);
  const member = lookup(archive, name);
  if (!member) {
    if ((await deps.content.size(desc.digest)) === desc.size) return;
    throw new BerthError('invalid-argument', `archive member ${name} is missing (${what})`);
  }
  if (member.digest !== desc.digest) {
    throw new BerthError('data-loss', `archive member ${name}: digest mismatch, content is ${member.digest}`);
  }
  if (member.size !== desc.size) {
    throw new BerthError('data-loss', `archive member ${name}: ${member.size} bytes, ${what} says ${desc.size}`);
  }
  await storeMember(deps.content, member, name);
}

async function layoutDocument(deps: LoadDeps, archive: Archive, desc: Descriptor, what: string): Promise<unknown> {
  if (desc.size > MAX_DOCUMENT_BYTES) throw new BerthError('resource-exhausted', `${what} ${desc.digest} is ${desc.size} bytes, more than the ${MAX_DOCUMENT_BYTES} allowed`);
  await layoutBlob(deps, archive, desc, what);
  return parseJson(await deps.content.read(desc.digest), `archive member ${blobPath(desc.digest)} (${what})`);
}

async function planOciLayout(deps: LoadDeps, archive: Archive): Promise<LoadPlan[]> {
  const indexMember = requireMember(archive, 'index.json', 'an OCI layout needs it');
  const index = parseJson(await readSmall(deps.content, indexMember, 'index.json', MAX_DOCUMENT_BYTES), 'archive member index.json') as { manifests: Descriptor[] };
  validateDocument('index', index, 'archive member index.json');
  const dockerTags = await dockerTagsByConfig(deps, archive);

  // Several entries may name one manifest (one per tag): one image with all their names.
  const byManifest = new Map<Digest, { manifest: Descriptor; index?: Descriptor; names: string[] }>();
  for (const [i, top] of index.manifests.entries()) {
    const where = `index.json manifests[${i}]`;
    const chosen = await chooseManifest(deps, archive, top, where, 0);
    const names = namesOf(top.annotations, where);
    const entry = byManifest.get(chosen.manifest.digest) ?? { ...chosen, names: [] };
    for (const n of names) if (!entry.names.includes(n)) entry.names.push(n);
    byManifest.set(chosen.manifest.digest, entry);
  }
  const plans: LoadPlan[] = [];
  for (const { manifest, index: parent, names } of byManifest.values()) {
    const plan = await planManifest(deps, archive, manifest, names);
    if (parent) plan.index = parent;
    // An entry without name annotations may still be named by the docker half of the archive.
    if (plan.names.length === 0) plan.names.push(...(dockerTags.get(plan.configDigest) ?? []));
    plans.push(plan);
  }
  return plans;
}

/** Follow nested indexes down to one image manifest: linux/amd64, or an index's only manifest. */
async function chooseManifest(deps: LoadDeps, archive: Archive, desc: Descriptor, where: string, depth: number): Promise<{ manifest: Descriptor; index?: Descriptor }> {
  if (isManifestType(desc.mediaType)) return { manifest: desc };
  if (!isIndexType(desc.mediaType)) {
    throw new BerthError('invalid-argument', `archive ${where}: media type "${desc.mediaType}" is not an image manifest or index`);
  }
  if (depth >= 4) throw new BerthError('invalid-argument', `archive ${where}: indexes nested too deep`);
  const what = `index ${desc.digest}`;
  const index = (await layoutDocument(deps, archive, desc, what)) as { manifests: Descriptor[] };
  validateDocument('index', index, `archive member ${blobPath(desc.digest)}`);
  const chosen = selectManifest(index.manifests, DEFAULT_PLATFORM) ?? (index.manifests.length === 1 ? index.manifests[0] : undefined);
  if (!chosen) {
    const offered = index.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : '?')).join(', ');
    throw new BerthError('not-found', `archive member ${blobPath(desc.digest)}: no manifest for ${formatPlatform(DEFAULT_PLATFORM)} (it offers ${offered})`);
  }
  const below = await chooseManifest(deps, archive, chosen, `${what} -> ${chosen.digest}`, depth + 1);
  return { manifest: below.manifest, index: below.index ?? desc };
}

interface ManifestDocument {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

async function planManifest(deps: LoadDeps, archive: Archive, desc: Descriptor, names: string[]): Promise<LoadPlan> {
  const member = `archive member ${blobPath(desc.digest)}`;
  const manifest = (await layoutDocument(deps, archive, desc, 'manifest')) as ManifestDocument;
  validateDocument('manifest', manifest, member);
  if (manifest.mediaType !== undefined && manifest.mediaType !== desc.mediaType) {
    throw new BerthError('invalid-argument', `${member}: manifest says it is ${manifest.mediaType}, index.json says ${desc.mediaType}`);
  }
  if (!CONFIG_TYPES.includes(manifest.config.mediaType)) {
    throw new BerthError('invalid-argument', `${member}: unknown config media type "${manifest.config.mediaType}"`);
  }
  if (manifest.config.size > deps.limits.maxConfigBytes) {
    throw new BerthError('resource-exhausted', `${member}: config ${manifest.config.digest} is ${manifest.config.size} bytes, more than the ${deps.limits.maxConfigBytes} allowed`);
  }
  const config = loadConfig(await layoutDocument(deps, archive, manifest.config, `config of manifest ${desc.digest}`), `archive member ${blobPath(manifest.config.digest)}`, manifest.layers.length);
  for (const [i, layer] of manifest.layers.entries()) {
    if (layerCompression(layer.mediaType) === undefined) {
      throw new BerthError('invalid-argument', `${member}: layer ${layer.digest}: unknown media type "${layer.mediaType}"`);
    }
    await layoutBlob(deps, archive, layer, `layer ${i} of manifest ${desc.digest}`);
  }
  return {
    names,
    manifest: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size },
    config,
    configDigest: manifest.config.digest,
    layers: layerRecords(manifest.layers.map(plainDescriptor), config.rootfs.diff_ids),
  };
}

function loadConfig(doc: unknown, what: string, layerCount: number): ImageConfig {
  validateDocument('config', doc, what);
  const config = doc as ImageConfig;
  if (config.rootfs.diff_ids.length !== layerCount) {
    throw new BerthError('invalid-argument', `${what}: ${config.rootfs.diff_ids.length} diff_ids for ${layerCount} layers`);
  }
  return config;
}

const plainDescriptor = (d: Descriptor): Descriptor => ({
  mediaType: d.mediaType, digest: d.digest, size: d.size, ...(d.urls ? { urls: d.urls } : {}), ...(d.annotations ? { annotations: d.annotations } : {}),
});

/**
 * Names an index.json entry gives its image: the full name containerd and Docker write, else a
 * ref.name that is a whole reference (skopeo writes "x:tag"); a bare tag names no repository.
 */
function namesOf(annotations: Record<string, string> | undefined, where: string): string[] {
  const full = annotations?.[IMAGE_NAME];
  if (full) return [normalizeName(full, `archive ${where} annotation ${IMAGE_NAME}`)];
  const refName = annotations?.[REF_NAME];
  if (refName && /[/:@]/.test(refName)) {
    try {
      return [normalizeName(refName, where)];
    } catch {
      return [];
    }
  }
  return [];
}

/** A name as images are tagged: familiar, with a tag; names pinned by digest are not tags. */
function normalizeName(name: string, where: string): string {
  let ref;
  try {
    ref = parseReference(name);
  } catch (err) {
    throw withContext(where, err);
  }
  if (ref.digest !== undefined && ref.tag === undefined) throw new BerthError('invalid-argument', `${where}: "${name}" is pinned by digest, not a tag`);
  return familiarString({ domain: ref.domain, path: ref.path, tag: ref.tag ?? 'latest' });
}

/** The docker half of a hybrid archive: RepoTags by config digest (best effort, for unnamed OCI entries). */
async function dockerTagsByConfig(deps: LoadDeps, archive: Archive): Promise<Map<Digest, string[]>> {
  const out = new Map<Digest, string[]>();
  const member = lookup(archive, 'manifest.json');
  if (!member) return out;
  try {
    const doc = JSON.parse((await readSmall(deps.content, member, 'manifest.json', MAX_DOCUMENT_BYTES)).toString('utf8')) as DockerManifestEntry[];
    for (const entry of doc) {
      const config = lookup(archive, entry.Config);
      if (config && entry.RepoTags?.length) out.set(config.digest, entry.RepoTags.map((t) => normalizeName(t, 'manifest.json')));
    }
  } catch {
    // The OCI half is authoritative; a docker half we cannot read only loses names.
  }
  return out;
}

// ---- docker save's format ----

async function planDockerArchive(deps: LoadDeps, archive: Archive): Promise<LoadPlan[]> {
  const member = lookup(archive, 'manifest.json');
  if (!member) {
    throw new BerthError('invalid-argument', 'archive has neither index.json (OCI layout) nor manifest.json (docker save); not an image archive');
  }
  const doc = parseJson(await readSmall(deps.content, member, 'manifest.json', MAX_DOCUMENT_BYTES), 'archive member manifest.json');
  if (!Array.isArray(doc)) throw new BerthError('invalid-argument', 'archive member manifest.json: expected a list of images');
  const plans: LoadPlan[] = [];
  for (const [i, raw] of (doc as unknown[]).entries()) {
    const where = `archive member manifest.json [${i}]`;
    const entry = raw as Partial<DockerManifestEntry>;
    if (typeof entry?.Config !== 'string' || !Array.isArray(entry.Layers) || !entry.Layers.every((l) => typeof l === 'string')) {
      throw new BerthError('invalid-argument', `${where}: expected {Config, RepoTags, Layers}`);
    }
    const names = (entry.RepoTags ?? []).map((t) => normalizeName(String(t), where));

    const configMember = requireMember(archive, entry.Config, `config of ${where}`);
    const configBytes = await readSmall(deps.content, configMember, entry.Config, deps.limits.maxConfigBytes);
    const configDigest = await storeMember(deps.content, configMember, entry.Config);
    const config = loadConfig(parseJson(configBytes, `archive member ${entry.Config}`), `archive member ${entry.Config}`, entry.Layers.length);

    const layers: Descriptor[] = [];
    for (const [j, name] of entry.Layers.entries()) {
      const layer = requireMember(archive, name, `layer ${j} of ${where}`);
      const digest = await storeMember(deps.content, layer, name);
      // docker save writes layers uncompressed; others gzip them; the bytes tell which.
      layers.push({ mediaType: layerMediaType(detectCompression(layer.head), 'oci'), digest, size: layer.size });
    }
    // docker's format has no manifest; write the one an OCI layout would have held.
    const manifestBytes = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configMember.size },
      layers,
    }));
    const manifestDigest = await deps.content.put(manifestBytes);
    plans.push({
      names,
      manifest: { mediaType: MediaType.ociManifest, digest: manifestDigest, size: manifestBytes.length },
      config,
      configDigest,
      layers: layerRecords(layers, config.rootfs.diff_ids),
    });
  }
  return plans;
}
