// berth wait --for=condition=NAME[=VALUE] | --for=delete  KIND/NAME... | KIND NAME... [-l SEL] [--timeout 30s] [-n NS]
// kubectl wait: watch the named objects until each has the condition (status True unless a value
// is given; the name case-insensitive) or is gone; "<kind>/<name> condition met" per object.

import type { Condition, Resource } from '../../proto/resources';
import { durationFlag, parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { LiveObjects } from './live-objects';
import { kindWithGroup, parseTargets, resolveKind, type Target } from './resource-names';
import type { Verb } from './types';

const USAGE = 'berth wait --for=condition=NAME[=VALUE]|--for=delete KIND/NAME...';

type Wanted = { condition: string; value: string } | { deleted: true };

export function parseFor(value: string | undefined): Wanted {
  if (value === 'delete') return { deleted: true };
  const m = /^condition=([^=]+)(?:=(.*))?$/.exec(value ?? '');
  if (!m) throw new CliError(`--for must be "delete" or "condition=NAME[=VALUE]", got ${JSON.stringify(value ?? '')} (${USAGE})`);
  return { condition: m[1]!, value: m[2] ?? 'True' };
}

/** Whether the object has the condition with the value (names compared as kubectl does, without case). */
export function conditionMet(obj: Resource, wanted: { condition: string; value: string }): boolean {
  const conditions = ((obj as { status?: { conditions?: Condition[] } }).status?.conditions ?? []);
  return conditions.some((c) => c.type.toLowerCase() === wanted.condition.toLowerCase() && c.status.toLowerCase() === wanted.value.toLowerCase());
}

export const wait: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, {
    for: { type: 'string' },
    timeout: { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    selector: { type: 'string', short: 'l' },
  });
  const wanted = parseFor(values.for);
  const namespace = values.namespace || 'default';
  const timeoutMs = durationFlag('--timeout', values.timeout) ?? 30_000;
  let targets: Target[];
  if (values.selector) {
    if (positionals.length !== 1) throw new CliError(`with -l, name one kind (${USAGE})`);
    const info = resolveKind(positionals[0]!);
    const { items } = await ctx.client.list<Resource>(info.kind, { namespace, labelSelector: values.selector });
    if (items.length === 0) throw new CliError('no matching resources found');
    targets = items.map((o) => ({ info, name: o.metadata.name! }));
  } else {
    targets = parseTargets(positionals, USAGE).targets;
    if (targets.length === 0) throw new CliError(`name the objects to wait for (${USAGE})`);
  }
  for (const target of targets) {
    const ref = `${kindWithGroup(target.info)}/${target.name}`;
    const ns = target.info.namespaced ? namespace : undefined;
    // Absent to begin with: kubectl's error; for --for=delete, already done.
    const first = await ctx.client.get<Resource>(target.info.kind, ns ?? '', target.name).catch((err: unknown) => {
      if ('deleted' in wanted) return undefined;
      throw err;
    });
    if (!first) {
      ctx.out(`${ref} condition met\n`);
      continue;
    }
    const live = new LiveObjects(ctx.client);
    const result = await live.until([{ kind: target.info.kind, ...(ns ? { namespace: ns } : {}), fieldSelector: `metadata.name=${target.name}` }], () => {
      const obj = live.list<Resource>(target.info.kind).find((o) => o.metadata.name === target.name);
      if ('deleted' in wanted) return obj && obj.metadata.uid === first.metadata.uid ? undefined : true;
      return obj && conditionMet(obj, wanted) ? true : undefined;
    }, timeoutMs);
    if (result === 'timeout') throw new CliError(`timed out waiting for the condition on ${target.info.plural}/${target.name}`);
    ctx.out(`${ref} condition met\n`);
  }
  return 0;
};
