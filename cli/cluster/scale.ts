// berth scale deployment|replicaset|statefulset|replicationcontroller/NAME --replicas=N | deployment NAME --replicas=N [-n NS]
//            [--current-replicas=M]: "deployment.apps/web scaled".

import type { Deployment, ReplicaSet, ReplicationController, StatefulSet } from '../../proto/resources';
import { intFlag, parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { objectRef, singleTarget } from './resource-names';
import type { Verb } from './types';
import { updateWithRetry } from './update';

export const scale: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, {
    replicas: { type: 'string' },
    'current-replicas': { type: 'string' },
    namespace: { type: 'string', short: 'n' },
  });
  const replicas = intFlag('--replicas', values.replicas);
  if (replicas === undefined) throw new CliError('required flag(s) "replicas" not set (berth scale deployment/NAME --replicas=N)');
  const current = intFlag('--current-replicas', values['current-replicas']);
  const target = singleTarget(positionals, 'berth scale deployment/NAME --replicas=N', ['Deployment', 'ReplicaSet', 'StatefulSet', 'ReplicationController']);
  const { object } = await updateWithRetry<Deployment | ReplicaSet | StatefulSet | ReplicationController>(ctx.client, target.info.kind, values.namespace || 'default', target.name, (obj) => {
    const now = obj.spec.replicas ?? 1;
    if (current !== undefined && now !== current) throw new CliError(`Expected replicas to be ${current}, was ${now}`);
    if (now === replicas) return undefined;
    obj.spec.replicas = replicas;
    return obj;
  });
  ctx.out(`${objectRef(object)} scaled\n`);
  return 0;
};
