// berth taint nodes NODE... KEY[=VALUE]:EFFECT... | KEY[:EFFECT]- [--overwrite]: add or remove node
// taints as kubectl taint does ("node/n1 tainted", "node/n1 untainted"), with its refusals.

import type { Node, Taint, TaintEffect } from '../../proto/resources';
import { parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import type { Verb } from './types';
import { updateWithRetry } from './update';

const EFFECTS: readonly TaintEffect[] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const USAGE = 'berth taint nodes NODE KEY[=VALUE]:EFFECT | KEY[:EFFECT]- [--overwrite]';

type Change = { add: Taint } | { remove: { key: string; effect?: TaintEffect } };

/** One taint argument: `k=v:NoSchedule` adds, `k:NoSchedule-` or `k-` removes. */
export function parseTaintArg(arg: string): Change {
  const removing = arg.endsWith('-');
  const body = removing ? arg.slice(0, -1) : arg;
  const colon = body.lastIndexOf(':');
  const effect = colon >= 0 ? body.slice(colon + 1) : undefined;
  const keyValue = colon >= 0 ? body.slice(0, colon) : body;
  const [key, value] = keyValue.split('=', 2) as [string, string | undefined];
  if (effect !== undefined && !EFFECTS.includes(effect as TaintEffect)) {
    throw new CliError(`invalid taint effect: ${effect}, unsupported taint effect (one of ${EFFECTS.join(', ')})`);
  }
  if (!key || !/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(key)) throw new CliError(`invalid taint spec: ${arg} (${USAGE})`);
  if (removing) return { remove: { key, ...(effect ? { effect: effect as TaintEffect } : {}) } };
  if (!effect) throw new CliError(`invalid taint spec: ${arg}: an effect is required (${USAGE})`);
  return { add: { key, ...(value ? { value } : {}), effect: effect as TaintEffect } };
}

export const taint: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, { overwrite: { type: 'boolean' } });
  const [kind, ...rest] = positionals;
  if (!kind || !['node', 'nodes', 'no'].includes(kind.split('/')[0]!)) throw new CliError(`only nodes can be tainted (${USAGE})`);
  const names = kind.includes('/') ? [kind.split('/')[1]!] : [];
  const specs: string[] = [];
  for (const arg of rest) (arg.includes(':') || arg.endsWith('-') || arg.includes('=') ? specs : names).push(arg);
  if (names.length === 0 || specs.length === 0) throw new CliError(`a node and at least one taint are required (${USAGE})`);
  const changes = specs.map(parseTaintArg);
  for (const name of names) {
    let removedOnly = true;
    await updateWithRetry<Node>(ctx.client, 'Node', undefined, name, (node) => {
      let taints = [...(node.spec?.taints ?? [])];
      for (const change of changes) {
        if ('remove' in change) {
          const keep = taints.filter((t) => !(t.key === change.remove.key && (!change.remove.effect || t.effect === change.remove.effect)));
          if (keep.length === taints.length) throw new CliError(`taint "${change.remove.key}${change.remove.effect ? `:${change.remove.effect}` : ''}" not found`);
          taints = keep;
          continue;
        }
        removedOnly = false;
        const same = taints.findIndex((t) => t.key === change.add.key && t.effect === change.add.effect);
        if (same >= 0 && !values.overwrite) throw new CliError(`node ${name} already has ${change.add.key} taint(s) with same effect(s) and --overwrite is false`);
        // The controller stamps a NoExecute taint's timeAdded.
        if (same >= 0) taints[same] = change.add;
        else taints.push(change.add);
      }
      node.spec = { ...node.spec, taints };
      if (taints.length === 0) delete node.spec.taints;
      return node;
    });
    ctx.out(`node/${name} ${removedOnly ? 'untainted' : 'tainted'}\n`);
  }
  return 0;
};
