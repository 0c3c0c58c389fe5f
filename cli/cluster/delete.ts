// berth delete -f FILE|DIR|- | KIND NAME... | KIND/NAME... | KIND -l SEL | KIND --all
//              [-n NS] [--ignore-not-found]
// Prints `deployment.apps "web" deleted` per object. The controller cascades: a Deployment's
// ReplicaSets and pods go with it, a bound pod stops on its node and then goes.

import type { KindInfo } from '../../proto/resources';
import { parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { errorText, isNotFound } from './errors';
import { loadReferences } from './manifests';
import { parseTargets, quotedRef, resolveKind, type Target } from './resource-names';
import type { Verb } from './types';

interface DeleteTarget extends Target {
  namespace: string | undefined;
}

export const del: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, {
    filename: { type: 'string', short: 'f', multiple: true },
    namespace: { type: 'string', short: 'n' },
    selector: { type: 'string', short: 'l' },
    all: { type: 'boolean' },
    'ignore-not-found': { type: 'boolean' },
  });
  const namespace = values.namespace || 'default';
  const nsOf = (info: KindInfo, ns: string | undefined) => (info.namespaced ? ns || namespace : undefined);
  const targets: DeleteTarget[] = [];
  let status = 0;

  if (values.filename?.length) {
    if (positionals.length > 0) throw new CliError('resource names cannot be given with -f (berth delete -f FILE)');
    const { objects, errors } = await loadReferences(values.filename, ctx.readStdin, values.namespace);
    if (errors.length > 0) {
      ctx.err(errors.map((e) => `${e}\n`).join(''));
      return 1;
    }
    // Reverse order: what lives in a namespace goes before the namespace written above it.
    for (const o of [...objects].reverse()) {
      const info = resolveKind(o.kind);
      targets.push({ info, name: o.metadata.name!, namespace: nsOf(info, o.metadata.namespace) });
    }
  } else {
    if (positionals.length === 0) throw new CliError('you must provide one or more resources by argument or filename (berth delete KIND NAME | -f FILE)');
    const { kind, targets: named } = parseTargets(positionals, 'berth delete KIND NAME');
    if (named.length > 0) {
      if (values.selector || values.all) throw new CliError('names cannot be combined with --selector or --all');
      targets.push(...named.map((t) => ({ ...t, namespace: nsOf(t.info, undefined) })));
    } else {
      if (!values.selector && !values.all) throw new CliError(`resource(s) were provided, but no name was specified (berth delete ${kind!.plural} NAME, -l SELECTOR or --all)`);
      const { items } = await ctx.client.list(kind!.kind, { namespace: nsOf(kind!, undefined), labelSelector: values.selector ?? '' });
      if (items.length === 0) {
        ctx.err(kind!.namespaced ? `No resources found in ${namespace} namespace.\n` : 'No resources found\n');
        return 0;
      }
      targets.push(...items.map((o) => ({ info: kind!, name: o.metadata.name!, namespace: nsOf(kind!, o.metadata.namespace) })));
    }
  }

  for (const t of targets) {
    try {
      await ctx.client.delete(t.info.kind, t.namespace, t.name);
      ctx.out(`${quotedRef(t.info, t.name)} deleted\n`);
    } catch (err) {
      if (isNotFound(err) && values['ignore-not-found']) continue;
      if (!isNotFound(err)) throw err;
      ctx.err(`${errorText(err)}\n`);
      status = 1;
    }
  }
  return status;
};
