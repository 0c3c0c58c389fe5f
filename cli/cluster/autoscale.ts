// berth autoscale deployment|replicaset|statefulset|replicationcontroller/NAME --max=N [--min=M]
// [--cpu-percent=P] [--name=HPA] [-n NS] [--dry-run=client -o yaml]: a HorizontalPodAutoscaler for
// the workload, as kubectl autoscale makes one ("horizontalpodautoscaler.autoscaling/web autoscaled").

import { stringify } from 'yaml';
import type { HorizontalPodAutoscaler } from '../../proto/resources';
import { intFlag, parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { singleTarget } from './resource-names';
import type { Verb } from './types';

export const autoscale: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, {
    max: { type: 'string' },
    min: { type: 'string' },
    'cpu-percent': { type: 'string' },
    name: { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    'dry-run': { type: 'string' },
    output: { type: 'string', short: 'o' },
  });
  const usage = 'berth autoscale deployment/NAME --max=N [--min=M] [--cpu-percent=P]';
  const max = intFlag('--max', values.max);
  if (max === undefined) throw new CliError(`required flag(s) "max" not set (${usage})`);
  const min = intFlag('--min', values.min);
  const cpuPercent = intFlag('--cpu-percent', values['cpu-percent']);
  if (max < 1) throw new CliError('--max=MAXPODS is required and must be at least 1');
  if (min !== undefined && (min < 1 || min > max)) throw new CliError(`--min=${min} must be at least 1 and at most --max=${max}`);
  const target = singleTarget(positionals, usage, ['Deployment', 'ReplicaSet', 'StatefulSet', 'ReplicationController']);
  const namespace = values.namespace || 'default';
  const hpa: HorizontalPodAutoscaler = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: values.name ?? target.name, namespace },
    spec: {
      scaleTargetRef: { apiVersion: target.info.apiVersion, kind: target.info.kind, name: target.name },
      ...(min !== undefined ? { minReplicas: min } : {}),
      maxReplicas: max,
      ...(cpuPercent !== undefined ? { metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cpuPercent } } }] } : {}),
    },
  };
  if (values['dry-run'] === 'client') {
    ctx.out(values.output === 'json' ? `${JSON.stringify(hpa, null, 2)}\n` : stringify(hpa));
    return 0;
  }
  if (values['dry-run'] !== undefined) throw new CliError(`--dry-run=${values['dry-run']}: only client is supported by autoscale`);
  // The workload must exist, as kubectl checks before it makes the autoscaler.
  await ctx.client.get(target.info.kind, namespace, target.name);
  const existing = await ctx.client.list('HorizontalPodAutoscaler', { namespace, fieldSelector: `metadata.name=${hpa.metadata.name}` });
  if (existing.items.length > 0) throw new CliError(`Error from server (AlreadyExists): horizontalpodautoscalers.autoscaling "${hpa.metadata.name}" already exists`);
  await ctx.client.apply([hpa], { dryRun: false, applySet: '', prune: false });
  ctx.out(`horizontalpodautoscaler.autoscaling/${hpa.metadata.name} autoscaled\n`);
  return 0;
};
