// The apply set an apply records on the controller: `--applyset NAME`, or by default a name
// derived from the -f paths, so that applying the same files again (from any working directory)
// is the same set, and `--prune` deletes exactly what an earlier apply of those files created
// and they no longer contain — never what another set or a user made.

import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { CliError } from '../common/errors';

/**
 * "files-" and 16 hex digits of the SHA-256 of the sorted, de-duplicated absolute -f paths
 * ("-" counts as "<stdin>"). A directory is its own path: files added to it stay in the set.
 */
export function defaultApplySet(paths: readonly string[], cwd: string): string {
  const absolute = [...new Set(paths.map((p) => (p === '-' ? '<stdin>' : path.resolve(cwd, p).replace(/\/+$/, ''))))].sort();
  return `files-${createHash('sha256').update(absolute.join('\n')).digest('hex').slice(0, 16)}`;
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** --applyset, checked, or the default for these paths. */
export function applySetName(flag: string | undefined, paths: readonly string[], cwd: string, prune: boolean): string {
  if (flag !== undefined) {
    if (!NAME.test(flag)) throw new CliError(`--applyset "${flag}": must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`);
    return flag;
  }
  // Whatever arrives on stdin is one set under one name: pruning it would delete another stdin
  // apply's objects.
  if (prune && paths.includes('-')) throw new CliError('--prune with -f - needs --applyset NAME: manifests from standard input have no path to name their set by');
  return defaultApplySet(paths, cwd);
}
