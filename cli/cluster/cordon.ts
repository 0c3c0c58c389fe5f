// berth cordon|uncordon NODE...: mark nodes unschedulable (new pods go elsewhere; the pods on them
// stay) or schedulable again, as kubectl's: "node/n1 cordoned", "node/n1 already cordoned".

import type { Node } from '../../proto/resources';
import { parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import type { Verb } from './types';
import { updateWithRetry } from './update';

function setUnschedulable(unschedulable: boolean): Verb {
  const word = unschedulable ? 'cordoned' : 'uncordoned';
  return async (ctx, argv) => {
    const { positionals } = parseFlags(argv, {});
    const names = positionals.map((p) => p.replace(/^(nodes?|no)\//, ''));
    if (names.length === 0) throw new CliError(`a node name is required (berth ${unschedulable ? 'cordon' : 'uncordon'} NODE...)`);
    for (const name of names) {
      const { written } = await updateWithRetry<Node>(ctx.client, 'Node', undefined, name, (node) => {
        if (Boolean(node.spec?.unschedulable) === unschedulable) return undefined;
        node.spec = { ...node.spec, unschedulable };
        if (!unschedulable) delete node.spec.unschedulable;
        return node;
      });
      ctx.out(`node/${name} ${written ? '' : 'already '}${word}\n`);
    }
    return 0;
  };
}

export const cordon = setUnschedulable(true);
export const uncordon = setUnschedulable(false);
