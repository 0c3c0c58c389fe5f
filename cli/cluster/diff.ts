// berth diff -f FILE|DIR|- [-n NS] [--prune [--applyset NAME]]: what an apply would change, as a
// unified diff of each live object against the object the controller would store (a server dry
// run), both as YAML. Exit status as kubectl diff's: 0 no differences, 1 differences, 2 error.

import type { Resource, Secret } from '../../proto/resources';
import { applySetName } from './apply-set';
import { parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { errorText, isNotFound } from './errors';
import { loadObjects } from './manifests';
import { learnCustomKinds } from './custom-kinds';
import { ordered, toYaml } from './output';
import { resolveKind } from './resource-names';
import type { Verb } from './types';
import { unifiedDiff } from './unified-diff';

export const DIFF_ERROR_EXIT = 2;

/** kubectl's file name for an object: "apps.v1.Deployment.default.web". */
export function diffName(obj: Resource): string {
  const info = resolveKind(obj.kind);
  const version = info.apiVersion.replace('/', '.');
  return [version, obj.kind, ...(info.namespaced ? [obj.metadata.namespace ?? 'default'] : []), obj.metadata.name].join('.');
}

/** An object as diff shows it: without the resource version, which differs by nature. */
export function diffText(obj: Resource | undefined): string {
  if (!obj) return '';
  const copy = structuredClone(obj);
  delete copy.metadata.resourceVersion;
  return toYaml(ordered(copy));
}

/**
 * A Secret's values masked as kubectl diff masks them: "***" where both sides agree, "*** (before)"
 * and "*** (after)" where the value changed, so a diff says which keys changed and shows no value.
 */
export function maskSecrets(live: Resource | undefined, merged: Resource | undefined): [Resource | undefined, Resource | undefined] {
  const isSecret = (o: Resource | undefined): o is Secret => o?.kind === 'Secret';
  if (!isSecret(live) && !isSecret(merged)) return [live, merged];
  const before = isSecret(live) ? live.data ?? {} : {};
  const after = isSecret(merged) ? merged.data ?? {} : {};
  const mask = (own: Record<string, string>, other: Record<string, string>, side: 'before' | 'after') =>
    Object.fromEntries(Object.entries(own).map(([k, v]) => [k, other[k] === v ? '***' : `*** (${side})`]));
  const masked = (o: Resource | undefined, own: Record<string, string>, other: Record<string, string>, side: 'before' | 'after') =>
    (isSecret(o) ? { ...o, ...(o.data ? { data: mask(own, other, side) } : {}) } : o);
  return [masked(live, before, after, 'before'), masked(merged, after, before, 'after')];
}

/** The diff of one object, headed as kubectl heads it; '' when there is none. Secrets' values are masked. */
export function objectDiff(liveIn: Resource | undefined, mergedIn: Resource | undefined): string {
  const [live, merged] = maskSecrets(liveIn, mergedIn);
  const name = diffName((merged ?? live)!);
  const body = unifiedDiff(diffText(live), diffText(merged), `LIVE/${name}`, `MERGED/${name}`);
  return body ? `diff -u -N LIVE/${name} MERGED/${name}\n${body}` : '';
}

export const diff: Verb = async (ctx, argv) => {
  try {
    const { values, positionals } = parseFlags(argv, {
      filename: { type: 'string', short: 'f', multiple: true },
      namespace: { type: 'string', short: 'n' },
      prune: { type: 'boolean' },
      applyset: { type: 'string' },
    });
    if (positionals.length > 0) throw new CliError(`unexpected arguments: ${positionals.join(' ')} (diff takes its manifests with -f)`);
    const paths = values.filename ?? [];
    if (paths.length === 0) throw new CliError('must specify -f (berth diff -f FILE|DIR|-)');
    const prune = Boolean(values.prune);
    const applySet = applySetName(values.applyset, paths, process.cwd(), prune);
    const { objects, errors } = await loadObjects(paths, ctx.readStdin, values.namespace, () => learnCustomKinds(ctx.client));
    if (errors.length > 0) {
      ctx.err(errors.map((e) => `${e}\n`).join(''));
      return DIFF_ERROR_EXIT;
    }
    const results = await ctx.client.apply(objects, { dryRun: true, applySet, prune });
    let differs = false;
    for (const r of results) {
      if (r.action === 'unchanged') continue;
      let live: Resource | undefined;
      if (r.action === 'pruned') {
        live = r.object;
      } else if (r.action === 'configured') {
        live = await ctx.client.get(r.object.kind, r.object.metadata.namespace, r.object.metadata.name!).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
      }
      const text = objectDiff(live, r.action === 'pruned' ? undefined : r.object);
      if (text) {
        differs = true;
        ctx.out(text);
      }
    }
    return differs ? 1 : 0;
  } catch (err) {
    ctx.err(`${errorText(err)}\n`);
    return DIFF_ERROR_EXIT;
  }
};
