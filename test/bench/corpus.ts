// The benchmark image: real files of this machine (/usr/lib, /usr/share, /usr/bin), picked
// deterministically (by a hash of their paths) until a file count and a byte budget are met,
// skipping files that compress absurdly well or badly, split into gzip layers; cached in
// /tmp/berth-bench-cache by a hash of the file list, and pushed to a registry.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { buildTar, digestOf, MT, pushBlob, pushManifest, type LayerEntry } from '../fixtures/images';
import type { Descriptor, Digest, ImageConfig } from '../../agent/oci/types';

const gzip = promisify(zlib.gzip);

export interface CorpusOptions {
  /** Regular files in the image. */
  files: number;
  /** Uncompressed bytes of file content in the image. */
  bytes: number;
  layers: number;
  trees: string[];
  cacheDir: string;
  log: (line: string) => void;
}

export const DEFAULT_CORPUS: Omit<CorpusOptions, 'log'> = {
  files: 14_000,
  bytes: 210 * 1024 * 1024,
  layers: 5,
  trees: ['/usr/lib', '/usr/share', '/usr/bin'],
  cacheDir: '/tmp/berth-bench-cache',
};

// Bump when the way layers are made changes, so old caches are not reused.
const FORMAT_VERSION = 1;
/** Files larger than this are skipped (they would dominate a layer). */
const MAX_FILE = 6 * 1024 * 1024;
/** Deflate ratio (level 1, first 64 KiB) accepted: below is already compressed, above is padding. */
const MIN_RATIO = 1.25;
const MAX_RATIO = 6;
/** How far the running byte total may run ahead of the budget's straight line. */
const SLACK = 12 * 1024 * 1024;
/** Layer sizes, as fractions of the bytes: a big base, smaller layers above, as images look. */
const LAYER_SHARES = [0.3, 0.25, 0.2, 0.15, 0.1];

export interface BenchLayer {
  descriptor: Descriptor;
  diffId: Digest;
  /** Bytes of the uncompressed tar. */
  tarBytes: number;
  files: number;
  dirs: number;
  symlinks: number;
  /** The gzip blob in the cache. */
  blobPath: string;
}

export interface BenchImage {
  key: string;
  layers: BenchLayer[];
  config: { descriptor: Descriptor; bytes: Buffer };
  manifest: { descriptor: Descriptor; bytes: Buffer };
  /** Regular files, over all layers (their paths are disjoint). */
  files: number;
  /** Sum of the layer blobs. */
  compressedBytes: number;
  /** Sum of the uncompressed layer tars. */
  uncompressedBytes: number;
  /** Sum of the regular files' sizes. */
  contentBytes: number;
}

interface Candidate {
  path: string;
  size: number;
  mtimeMs: number;
  mode: number;
  order: string;
}

interface Symlink {
  path: string;
  target: string;
  order: string;
}

const orderOf = (p: string) => createHash('sha1').update(p).digest('hex');

function walk(root: string, files: Candidate[], links: Symlink[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(root, e.name);
    // Names that are not valid UTF-8 would not survive the round trip through a JS string.
    if (p.includes('\uFFFD')) continue;
    if (e.isDirectory()) walk(p, files, links);
    else if (e.isSymbolicLink()) {
      try {
        links.push({ path: p, target: fs.readlinkSync(p), order: orderOf(p) });
      } catch {
        // vanished
      }
    } else if (e.isFile()) {
      try {
        const st = fs.statSync(p);
        if (st.size > 0 && st.size <= MAX_FILE) files.push({ path: p, size: st.size, mtimeMs: Math.floor(st.mtimeMs), mode: st.mode & 0o7777, order: orderOf(p) });
      } catch {
        // vanished
      }
    }
  }
}

/** Neither already compressed nor absurdly compressible, judged on its first 64 KiB. */
function compressesSanely(file: Candidate): boolean {
  let head: Buffer;
  try {
    const fd = fs.openSync(file.path, 'r');
    try {
      head = Buffer.alloc(Math.min(file.size, 64 * 1024));
      fs.readSync(fd, head, 0, head.length, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
  // Tiny files are headers and text: fine as they are, whatever deflate thinks of 100 bytes.
  if (head.length < 1024) return true;
  const ratio = head.length / zlib.deflateRawSync(head, { level: 1 }).length;
  return ratio >= MIN_RATIO && ratio <= MAX_RATIO;
}

interface Selection {
  files: Candidate[];
  links: Symlink[];
}

function select(opts: CorpusOptions): Selection {
  const files: Candidate[] = [];
  const links: Symlink[] = [];
  for (const tree of opts.trees) walk(tree, files, links);
  files.sort((a, b) => (a.order < b.order ? -1 : 1));
  const chosen: Candidate[] = [];
  let bytes = 0;
  for (const f of files) {
    if (chosen.length >= opts.files) break;
    // Track the straight line from (0, 0) to (files, bytes), so the mix of sizes stays even.
    const line = (opts.bytes * (chosen.length + 1)) / opts.files;
    if (bytes + f.size > line + SLACK) continue;
    if (!compressesSanely(f)) continue;
    chosen.push(f);
    bytes += f.size;
  }
  if (chosen.length < opts.files) throw new Error(`only ${chosen.length} usable files under ${opts.trees.join(' ')} (wanted ${opts.files})`);
  chosen.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { files: chosen, links };
}

interface LayerPlan {
  entries: LayerEntry[];
  files: number;
  dirs: number;
  symlinks: number;
}

/** Contiguous runs of the sorted files, by byte share; each with its directories and nearby symlinks. */
function planLayers(sel: Selection, count: number): LayerPlan[] {
  const shares = count === LAYER_SHARES.length ? LAYER_SHARES : Array.from({ length: count }, () => 1 / count);
  const total = sel.files.reduce((a, f) => a + f.size, 0);
  const groups: Candidate[][] = [[]];
  let acc = 0;
  let bound = shares[0]! * total;
  for (const f of sel.files) {
    if (acc >= bound && groups.length < count) {
      groups.push([]);
      bound += shares[groups.length - 1]! * total;
    }
    groups[groups.length - 1]!.push(f);
    acc += f.size;
  }
  const taken = new Set(sel.files.map((f) => f.path));
  // About one symlink per ten files, as in a distribution's /usr, from the layers' directories.
  const linkBudget = Math.floor(sel.files.length / 10);
  const links = [...sel.links].sort((a, b) => (a.order < b.order ? -1 : 1));
  const usedLinks = new Set<string>();
  return groups.map((group) => {
    const dirs = new Set<string>();
    for (const f of group) {
      for (let d = path.dirname(f.path); d !== '/'; d = path.dirname(d)) {
        if (dirs.has(d)) break;
        dirs.add(d);
      }
    }
    const mine = links.filter((l) => dirs.has(path.dirname(l.path)) && !taken.has(l.path) && !usedLinks.has(l.path) && !dirs.has(l.path));
    const pick = mine.slice(0, Math.ceil((linkBudget * group.length) / sel.files.length));
    for (const l of pick) usedLinks.add(l.path);
    const rel = (p: string) => p.replace(/^\/+/, '');
    const entries: LayerEntry[] = [
      ...[...dirs].map((d): LayerEntry => ({ path: rel(d), type: 'dir', mode: 0o755 })),
      ...group.map((f): LayerEntry => ({ path: rel(f.path), type: 'file', source: f.path, mode: f.mode })),
      ...pick.map((l): LayerEntry => ({ path: rel(l.path), type: 'symlink', linkname: l.target })),
    ];
    // Parents before children, as tar writes them.
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { entries, files: group.length, dirs: dirs.size, symlinks: pick.length };
  });
}

function imageArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

/** Select the files, then load the image from the cache or build it there. */
export async function benchImage(opts: CorpusOptions): Promise<BenchImage> {
  const t0 = Date.now();
  const sel = select(opts);
  const plans = planLayers(sel, opts.layers);
  const keyHash = createHash('sha256').update(JSON.stringify({ v: FORMAT_VERSION, layers: opts.layers }));
  for (const f of sel.files) keyHash.update(`${f.path}\0${f.size}\0${f.mtimeMs}\0${f.mode}\n`);
  for (const p of plans) for (const e of p.entries) if (e.type === 'symlink') keyHash.update(`${e.path}\0${e.linkname}\n`);
  const key = keyHash.digest('hex').slice(0, 16);
  const contentBytes = sel.files.reduce((a, f) => a + f.size, 0);
  opts.log(`corpus: ${sel.files.length} files, ${mb(contentBytes)} MB of content selected in ${((Date.now() - t0) / 1000).toFixed(1)} s (key ${key})`);

  const dir = path.join(opts.cacheDir, key);
  const metaFile = path.join(dir, 'meta.json');
  if (fs.existsSync(metaFile)) {
    const image = readCached(dir);
    if (image) {
      opts.log(`corpus: reusing cached layers in ${dir}`);
      return image;
    }
  }

  opts.log(`corpus: building ${plans.length} gzip layers into ${dir} ...`);
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    // Build tar i+1 while gzip (on libuv's threads) compresses tar i.
    const pending: Array<Promise<Omit<BenchLayer, 'blobPath'> & { hex: string }>> = [];
    for (const plan of plans) {
      const tar = await buildTar(plan.entries);
      pending.push(gzip(tar, { level: 6 }).then((gz) => {
        const digest = digestOf(gz);
        const hex = digest.slice('sha256:'.length);
        fs.writeFileSync(path.join(tmp, hex), gz);
        return {
          descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: gz.length },
          diffId: digestOf(tar),
          tarBytes: tar.length,
          files: plan.files,
          dirs: plan.dirs,
          symlinks: plan.symlinks,
          hex,
        };
      }));
    }
    const layers = await Promise.all(pending);
    const config: ImageConfig = {
      architecture: imageArch(),
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `berth bench layer ${i}` })),
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDesc: Descriptor = { mediaType: MT.ociConfig, digest: digestOf(configBytes), size: configBytes.length };
    const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: configDesc, layers: layers.map((l) => l.descriptor) }));
    fs.writeFileSync(path.join(tmp, 'config.json'), configBytes);
    fs.writeFileSync(path.join(tmp, 'manifest.json'), manifestBytes);
    fs.writeFileSync(path.join(tmp, 'meta.json'), JSON.stringify({ layers, contentBytes, files: sel.files.length }, null, 2));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  opts.log(`corpus: built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const image = readCached(dir);
  if (!image) throw new Error(`corpus: cache ${dir} unreadable right after building it`);
  return image;
}

function readCached(dir: string): BenchImage | undefined {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as {
      layers: Array<Omit<BenchLayer, 'blobPath'> & { hex: string }>;
      contentBytes: number;
      files: number;
    };
    const layers: BenchLayer[] = meta.layers.map(({ hex, ...l }) => ({ ...l, blobPath: path.join(dir, hex) }));
    for (const l of layers) if (fs.statSync(l.blobPath).size !== l.descriptor.size) return undefined;
    const configBytes = fs.readFileSync(path.join(dir, 'config.json'));
    const manifestBytes = fs.readFileSync(path.join(dir, 'manifest.json'));
    return {
      key: path.basename(dir),
      layers,
      config: { descriptor: { mediaType: MT.ociConfig, digest: digestOf(configBytes), size: configBytes.length }, bytes: configBytes },
      manifest: { descriptor: { mediaType: MT.ociManifest, digest: digestOf(manifestBytes), size: manifestBytes.length }, bytes: manifestBytes },
      files: meta.files,
      compressedBytes: layers.reduce((a, l) => a + l.descriptor.size, 0),
      uncompressedBytes: layers.reduce((a, l) => a + l.tarBytes, 0),
      contentBytes: meta.contentBytes,
    };
  } catch {
    return undefined;
  }
}

/** Push the image's blobs and its manifest under `repo:tag`. */
export async function pushBenchImage(host: string, repo: string, tag: string, image: BenchImage): Promise<void> {
  for (const l of image.layers) await pushBlob(host, repo, { descriptor: l.descriptor, bytes: fs.readFileSync(l.blobPath) });
  await pushBlob(host, repo, image.config);
  await pushManifest(host, repo, tag, MT.ociManifest, image.manifest.bytes);
}

export const mb = (bytes: number, digits = 1): string => (bytes / 1024 / 1024).toFixed(digits);
