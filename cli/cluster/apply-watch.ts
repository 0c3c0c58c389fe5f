// apply --watch: after the first apply, re-apply the whole set of -f paths whenever a manifest
// among them changes (changes coalesced for DEBOUNCE_MS), until SIGINT or SIGTERM. Level-triggered:
// each round loads every file again, so a missed or doubled file event is harmless. A deleted
// file's objects go by applying what remains with prune (the apply set remembers them); a round
// whose files do not validate prints the errors and sends nothing.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyOnce, resultLine, type ApplyFlags } from './apply-round';
import { errorText } from './errors';
import type { VerbContext } from './types';

export const DEBOUNCE_MS = 300;

export type FileChange = 'add' | 'change' | 'unlink';

/** What one round does: prune when asked to, or when a file went away (its objects must go too). */
export function roundPrunes(flagPrune: boolean, changes: ReadonlyMap<string, FileChange>): boolean {
  return flagPrune || [...changes.values()].includes('unlink');
}

/** "app.yaml changed, old.yaml removed". */
export function describeChanges(changes: ReadonlyMap<string, FileChange>, cwd: string): string {
  const word = { add: 'added', change: 'changed', unlink: 'removed' } as const;
  return [...changes].map(([file, c]) => `${path.relative(cwd, file) || file} ${word[c]}`).join(', ');
}

export async function watchAndApply(ctx: VerbContext, flags: ApplyFlags): Promise<number> {
  const chokidar = await import('chokidar');
  const cwd = process.cwd();
  const { isManifestFile } = await import('../../proto/manifests');
  const roots = flags.paths.map((p) => path.resolve(cwd, p));
  const directories = new Set(roots.filter((p) => isDirectory(p)));
  // Directories are read one level deep (as apply -f DIR reads them), files as named.
  const relevant = (file: string) => roots.includes(file) || (directories.has(path.dirname(file)) && isManifestFile(file));
  const watcher = chokidar.watch(roots, {
    ignoreInitial: true,
    depth: 0,
    // An editor's save can be a truncate then a write: read the file once it is still again.
    awaitWriteFinish: { stabilityThreshold: 150, pollInterval: 50 },
  });

  const pending = new Map<string, FileChange>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  const round = async () => {
    const changes = new Map(pending);
    pending.clear();
    if (changes.size === 0 || stopped) return;
    ctx.out(`${describeChanges(changes, cwd)}: applying\n`);
    try {
      // A named file that was removed is left out (its objects are pruned), not an unreadable path.
      const paths = flags.paths.filter((p) => fs.existsSync(path.resolve(cwd, p)));
      const results = await applyOnce(ctx, { ...flags, paths }, roundPrunes(flags.prune, changes));
      if (!results) {
        ctx.out('nothing applied; waiting for the next change\n');
        return;
      }
      const changed = results.filter((r) => r.action !== 'unchanged');
      ctx.out(changed.length ? changed.map((r) => resultLine(r, 'none')).join('') : 'no changes\n');
    } catch (err) {
      ctx.err(`${errorText(err)}\n`);
    }
  };

  const onEvent = (change: FileChange) => (file: string) => {
    const abs = path.resolve(cwd, file);
    if (!relevant(abs)) return;
    // A file removed and written again within one round is a change, not a removal.
    pending.set(abs, change === 'add' && pending.get(abs) === 'unlink' ? 'change' : change);
    clearTimeout(timer);
    timer = setTimeout(() => (running = running.then(round)), DEBOUNCE_MS);
  };
  watcher.on('add', onEvent('add'));
  watcher.on('change', onEvent('change'));
  watcher.on('unlink', onEvent('unlink'));

  await new Promise<void>((resolve, reject) => {
    watcher.on('ready', () => {
      ctx.out(`watching ${flags.paths.join(', ')} for changes (Ctrl-C to stop)\n`);
    });
    watcher.on('error', (err) => reject(err instanceof Error ? err : new Error(String(err))));
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }).finally(async () => {
    stopped = true;
    clearTimeout(timer);
    await watcher.close();
    await running;
  });
  return 0;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
