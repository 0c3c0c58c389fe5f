// Where manifests come from: files, directories (the manifest files directly inside, in name
// order, not recursive) and '-' for standard input, which the caller reads (so that tests and
// the CLI decide how).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ManifestError } from './errors';
import type { ManifestSource } from './types';

export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
export const STDIN_NAME = '<stdin>';

export function isManifestFile(name: string): boolean {
  return MANIFEST_EXTENSIONS.some((ext) => name.endsWith(ext));
}

/** The texts of `paths`, in the order given; a path that cannot be read is an error, and the others are still read. */
export function readSources(paths: readonly string[], readStdin: () => string): { sources: ManifestSource[]; errors: ManifestError[] } {
  const sources: ManifestSource[] = [];
  const errors: ManifestError[] = [];
  let stdin: string | undefined;
  for (const path of paths) {
    if (path === '-') {
      // Standard input can be read once; '-' given twice means the same text.
      stdin ??= readStdin();
      sources.push({ name: STDIN_NAME, text: stdin });
      continue;
    }
    try {
      if (statSync(path).isDirectory()) {
        const names = readdirSync(path, { withFileTypes: true })
          .filter((e) => !e.isDirectory() && isManifestFile(e.name))
          .map((e) => e.name)
          .sort();
        for (const name of names) sources.push(readSource(join(path, name)));
      } else {
        sources.push(readSource(path));
      }
    } catch (err) {
      errors.push(new ManifestError({ where: path, detail: describeFsError(err) }, { cause: err }));
    }
  }
  return { sources, errors };
}

function readSource(path: string): ManifestSource {
  return { name: path, text: readFileSync(path, 'utf8') };
}

function describeFsError(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES': return 'permission denied';
    case 'ENOTDIR': return 'not a directory (a path above it is a file)';
    default: return `cannot read: ${err instanceof Error ? err.message : String(err)}`;
  }
}
