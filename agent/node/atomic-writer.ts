// A projected volume's files written as the kubelet's AtomicWriter writes them, so that a running
// pod never reads half an update: each version goes into a fresh hidden directory
// `..<time>.<random>`, the symlink `..data` is swapped to it in one rename, and every top-level
// entry the volume shows is a symlink `name -> ..data/name`. Readers that open a path through
// `..data` see the old version or the new one whole. The previous version's directory goes after
// the swap; entries the new version lacks go too.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ProjectedFile } from './volume-files';

const DATA = '..data';
const DATA_TMP = '..data_tmp';

/** Write `files` into `dir` atomically; true when anything changed (an unchanged set writes nothing). */
export async function writeAtomically(dir: string, files: ReadonlyMap<string, ProjectedFile>, owner?: { uid: number; gid: number }): Promise<boolean> {
  await fs.mkdir(dir, { recursive: true });
  const current = await fs.readlink(path.join(dir, DATA)).catch(() => undefined);
  if (current && (await sameContent(path.join(dir, current), files))) return false;

  const version = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${randomBytes(4).toString('hex')}`;
  const versionDir = path.join(dir, version);
  await fs.mkdir(versionDir, { mode: 0o755 });
  for (const [relative, file] of files) {
    const target = path.join(versionDir, relative);
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    await fs.writeFile(target, file.bytes, { mode: file.mode });
    await fs.chmod(target, file.mode);
    if (owner) await fs.chown(target, owner.uid, owner.gid);
  }
  // The swap: a new symlink beside the old, renamed over it (rename(2) is atomic).
  const tmp = path.join(dir, DATA_TMP);
  await fs.rm(tmp, { force: true });
  await fs.symlink(version, tmp);
  await fs.rename(tmp, path.join(dir, DATA));

  const tops = new Set([...files.keys()].map((f) => f.split('/')[0]!));
  for (const top of tops) {
    const link = path.join(dir, top);
    const existing = await fs.readlink(link).catch(() => undefined);
    if (existing === path.join(DATA, top)) continue;
    await fs.rm(link, { force: true, recursive: true });
    await fs.symlink(path.join(DATA, top), link);
  }
  for (const entry of await fs.readdir(dir)) {
    if (entry === DATA || entry === version || tops.has(entry)) continue;
    // The previous versions, and the links of entries this version no longer has.
    await fs.rm(path.join(dir, entry), { recursive: true, force: true });
  }
  return true;
}

async function sameContent(versionDir: string, files: ReadonlyMap<string, ProjectedFile>): Promise<boolean> {
  const seen = await listFiles(versionDir).catch(() => undefined);
  if (!seen || seen.length !== files.size) return false;
  for (const relative of seen) {
    const want = files.get(relative);
    if (!want) return false;
    const target = path.join(versionDir, relative);
    const [bytes, stat] = await Promise.all([fs.readFile(target), fs.stat(target)]);
    if (!bytes.equals(want.bytes) || (stat.mode & 0o7777) !== want.mode) return false;
  }
  return true;
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(path.join(dir, entry.name), relative)));
    else out.push(relative);
  }
  return out;
}
