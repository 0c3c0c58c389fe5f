// One apply round, shared by `berth apply` and each round of `apply --watch`: the flags compiled
// once, the -f paths loaded and validated, then either every error printed or the objects sent.

import type { Resource } from '../../proto/resources';
import { durationFlag, parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { applySetName } from './apply-set';
import { outputFlag } from './args';
import { loadObjects } from './manifests';
import { learnCustomKinds } from './custom-kinds';
import { formatObjects } from './output';
import { objectRef } from './resource-names';
import type { ApplyResultItem, VerbContext } from './types';

export const DEFAULT_WAIT = '5m';

export const APPLY_OPTIONS = {
  filename: { type: 'string', short: 'f', multiple: true },
  'dry-run': { type: 'string' },
  prune: { type: 'boolean' },
  applyset: { type: 'string' },
  wait: { type: 'string' },
  watch: { type: 'boolean' },
  namespace: { type: 'string', short: 'n' },
  output: { type: 'string', short: 'o' },
} as const;

export type DryRun = 'none' | 'client' | 'server';

export interface ApplyFlags {
  paths: string[];
  dryRun: DryRun;
  prune: boolean;
  applySet: string;
  /** --wait: how long, in ms; undefined without --wait. */
  waitMs: number | undefined;
  watch: boolean;
  namespace: string | undefined;
  output: 'yaml' | 'json' | 'name' | undefined;
}

/** Flags checked and defaulted once (pure but for the working directory). */
export function applyFlags(argv: string[], cwd: string): ApplyFlags {
  const { values, positionals } = parseFlags(argv, APPLY_OPTIONS, { wait: DEFAULT_WAIT, 'dry-run': 'client' });
  if (positionals.length > 0) throw new CliError(`unexpected arguments: ${positionals.join(' ')} (apply takes its manifests with -f)`);
  const paths = values.filename ?? [];
  if (paths.length === 0) throw new CliError('must specify one of -f and -k (berth apply -f FILE|DIR|-)');
  const dryRun = values['dry-run'] ?? 'none';
  if (dryRun !== 'none' && dryRun !== 'client' && dryRun !== 'server') {
    throw new CliError(`Invalid dry-run value (${dryRun}). Must be "none", "server", or "client".`);
  }
  const output = outputFlag(values.output, ['yaml', 'json', 'name']) as ApplyFlags['output'];
  const prune = Boolean(values.prune);
  const waitMs = durationFlag('--wait', values.wait);
  if (values.watch && paths.includes('-')) throw new CliError('--watch needs files or directories to watch, not -f -');
  if (values.watch && dryRun !== 'none') throw new CliError('--watch cannot be combined with --dry-run');
  if (waitMs !== undefined && dryRun !== 'none') throw new CliError('--wait cannot be combined with --dry-run: nothing is applied to wait for');
  return { paths, dryRun, prune, applySet: applySetName(values.applyset, paths, cwd, prune), waitMs, watch: Boolean(values.watch), namespace: values.namespace, output };
}

/** kubectl's line for one result: "deployment.apps/web configured (server dry run)". */
export function resultLine(r: ApplyResultItem, dryRun: DryRun): string {
  const suffix = dryRun === 'server' ? ' (server dry run)' : dryRun === 'client' ? ' (dry run)' : '';
  return `${objectRef(r.object)} ${r.action}${suffix}\n`;
}

export const changedAnything = (results: ApplyResultItem[]): boolean => results.some((r) => r.action !== 'unchanged');

/** Load, then either print the errors or send the objects; the results, or undefined after errors. */
export async function applyOnce(ctx: VerbContext, flags: ApplyFlags, prune: boolean): Promise<ApplyResultItem[] | undefined> {
  const { objects, errors } = await loadObjects(flags.paths, ctx.readStdin, flags.namespace, () => learnCustomKinds(ctx.client));
  if (errors.length > 0) {
    ctx.err(errors.map((e) => `${e}\n`).join(''));
    return undefined;
  }
  if (objects.length === 0 && !prune) {
    ctx.err('error: no objects passed to apply\n');
    return undefined;
  }
  if (flags.dryRun === 'client') {
    printObjects(ctx, flags, objects);
    return objects.map((object) => ({ action: 'created', object }));
  }
  return ctx.client.apply(objects, { dryRun: flags.dryRun === 'server', applySet: flags.applySet, prune });
}

function printObjects(ctx: VerbContext, flags: ApplyFlags, objects: Resource[]): void {
  if (flags.output) ctx.out(formatObjects(objects, flags.output, objects.length === 1));
  else ctx.out(objects.map((o) => `${objectRef(o)} validated (dry run)\n`).join(''));
}
