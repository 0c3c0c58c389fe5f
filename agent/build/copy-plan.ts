// COPY and ADD's plan, apart from the steps that run it: where each source entry lands (Docker's
// rules for directories, files and trailing slashes), what of the sources goes into the step's
// cache key, which of ADD's sources are archives, --exclude and --chown. Nothing here mounts or
// writes: the builder resolves the sources in their trees and writes the plan (rootfs.ts).

import ignore from '@balena/dockerignore';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { mapBounded } from '../images';
import { imageFiles, resolveUser } from '../runtime';
import type { Heredoc } from './dockerfile';
import { type CopyItem, type Ownership, resolveInRoot, type SourceEntry, type SourceTree } from './rootfs';
import { isArchive } from './sources';

/** A COPY/ADD source as written: a path (or URL), or one of the instruction's heredocs. */
export type SourceWord = { path: string } | { heredoc: Heredoc };

/** One source word's entries in the tree they come from. */
export interface ResolvedSource {
  tree: SourceTree;
  entries: SourceEntry[];
  /** What the tree is, for the cache key: 'context', a stage's State.below or an image's top chain ID, 'heredoc', a URL. */
  origin: string;
  word: string;
  exclude?: string[];
  remote?: boolean;
}

/** Where each source entry lands: Docker's rules for directories, files and trailing slashes. */
export async function placeSources(root: string, sources: ResolvedSource[], dest: string, destIsDir: boolean, archives: Set<SourceEntry>): Promise<CopyItem[]> {
  const destRel = dest.replace(/^\/+/, '');
  let intoDir = destIsDir;
  if (!intoDir) {
    const resolved = await resolveInRoot(root, destRel, true);
    intoDir = (await fs.stat(path.join(root, resolved)).catch(() => undefined))?.isDirectory() ?? false;
  }
  const items: CopyItem[] = [];
  for (const source of sources) {
    for (const entry of source.entries) {
      if (archives.has(entry)) continue;
      if (entry.type === 'dir') {
        // A directory's contents are copied, not the directory itself.
        items.push({ source: entry, dest: destRel });
        for (const child of await source.tree.descendants(entry)) {
          const inside = child.rel.slice(entry.rel === '' ? 0 : entry.rel.length + 1);
          if (source.exclude && excluded(inside, source.exclude)) continue;
          items.push({ source: child, dest: join(destRel, inside) });
        }
      } else {
        items.push({ source: entry, dest: intoDir ? join(destRel, entry.name ?? path.posix.basename(entry.rel)) : destRel });
      }
    }
  }
  return items;
}

/** What the cache key needs of the sources: each entry's path, type, mode, owner and content digest. */
export async function sourcesKey(sources: ResolvedSource[]): Promise<string> {
  const hash = createHash('sha256');
  for (const source of sources) {
    for (const entry of source.entries) {
      hash.update(`source ${source.origin} ${source.word}\n`);
      const all = entry.type === 'dir' ? [entry, ...(await source.tree.descendants(entry))] : [entry];
      // Contents hashed many at a time (each is remembered by the file's identity for next time);
      // small files are read without leaving the event loop, so it is let through between batches.
      const digests: string[] = [];
      for (let i = 0; i < all.length; i += 256) {
        if (i > 0) await new Promise((resolve) => setImmediate(resolve));
        digests.push(...await mapBounded(all.slice(i, i + 256), 32, (e) => (e.type === 'file' ? source.tree.digest(e) : Promise.resolve(''))));
      }
      for (const [i, e] of all.entries()) {
        const rel = entry.type === 'dir' ? e.rel.slice(entry.rel === '' ? 0 : entry.rel.length + 1) : e.name ?? path.posix.basename(e.rel);
        if (entry.type === 'dir' && source.exclude && excluded(rel, source.exclude)) continue;
        const content = e.type === 'file' ? digests[i]! : e.type === 'symlink' ? e.linkTarget! : e.node ? `${e.node.kind} ${e.node.major}:${e.node.minor}` : '';
        hash.update(`${rel}\0${e.type}\0${e.mode.toString(8)}\0${e.uid}:${e.gid}\0${content}\n`);
      }
    }
  }
  return hash.digest('hex');
}

export function passwdOf(lowers: string[]): [string | undefined, string | undefined] {
  const files = imageFiles(lowers);
  return [files.passwd, files.group];
}

/** --chown=user[:group]: names from the image's files; a lone user (name or ID) gives its UID as the GID too, as Docker documents. */
export function chownOf(spec: string, lowers: string[]): Ownership {
  const [userPart = '', groupPart] = spec.split(':');
  const [passwd, group] = passwdOf(lowers);
  const user = resolveUser(userPart, passwd, group);
  if (groupPart === undefined || groupPart === '') return { uid: user.uid, gid: user.uid };
  return { uid: user.uid, gid: resolveUser(`${userPart}:${groupPart}`, passwd, group).gid };
}

/** ADD's local sources that are tar archives (plain, gzip, bzip2, xz): unpacked rather than copied. */
export async function archivesAmong(sources: ResolvedSource[]): Promise<Set<SourceEntry>> {
  const out = new Set<SourceEntry>();
  for (const s of sources) {
    if (s.remote) continue;
    for (const e of s.entries) if (e.type === 'file' && (await isArchive(e.hostPath))) out.add(e);
  }
  return out;
}

const excludeMatchers = new Map<string, ReturnType<typeof ignore>>();

/** COPY --exclude: the same rules as .dockerignore's (each set of patterns compiled once). */
export function excluded(rel: string, patterns: string[]): boolean {
  if (patterns.length === 0) return false;
  const key = patterns.join('\0');
  let matcher = excludeMatchers.get(key);
  if (!matcher) {
    if (excludeMatchers.size > 100) excludeMatchers.clear();
    matcher = ignore().add(patterns);
    excludeMatchers.set(key, matcher);
  }
  return matcher.ignores(rel);
}

const join = (dir: string, name: string): string => (dir === '' ? name : name === '' ? dir : `${dir}/${name}`);
