// berth apply -f FILE|DIR|- [-f ...] [--dry-run=client|server] [--prune] [--applyset NAME]
//             [--wait[=TIMEOUT]] [--watch] [-n NS] [-o yaml|json|name]
//
// All or nothing: every manifest error is printed and nothing is sent; otherwise one Apply call
// carries every document. Exit status: 0 when something was created, configured or pruned,
// UNCHANGED_EXIT when everything was already as written, 1 on any error.

import { applyFlags, applyOnce, changedAnything, resultLine } from './apply-round';
import { waitForApplied } from './apply-wait';
import { formatObjects } from './output';
import type { Verb } from './types';

/** Exit status of an apply that found everything already as written. */
export const UNCHANGED_EXIT = 3;

export const apply: Verb = async (ctx, argv) => {
  const flags = applyFlags(argv, process.cwd());
  const results = await applyOnce(ctx, flags, flags.prune);
  if (!results) return 1;
  if (flags.dryRun === 'client') {
    if (flags.prune) ctx.err('warning: --prune is not evaluated in a client dry run (the controller knows what the set holds)\n');
    return 0;
  }
  if (flags.output) ctx.out(formatObjects(results.map((r) => r.object), flags.output, results.length === 1));
  else ctx.out(results.map((r) => resultLine(r, flags.dryRun)).join(''));

  if (flags.waitMs !== undefined) {
    const applied = results.filter((r) => r.action !== 'pruned').map((r) => r.object);
    const outcome = await waitForApplied(ctx.client, applied, flags.waitMs, ctx.out);
    if (!outcome.ok) {
      ctx.err(`error: ${outcome.message}\n`);
      return 1;
    }
  }
  if (flags.watch) {
    const { watchAndApply } = await import('./apply-watch');
    return watchAndApply(ctx, flags);
  }
  return changedAnything(results) ? 0 : UNCHANGED_EXIT;
};
