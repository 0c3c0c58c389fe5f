// berth logs POD | pod/POD | deployment/NAME | job/NAME [-c CONTAINER] [-f] [--tail N] [--timestamps] [-n NS]
// A pod container's log, from the agent running it through the controller (Cluster.Logs).

import { StringDecoder } from 'node:string_decoder';
import type { Deployment, Job, Pod, ReplicaSet } from '../../proto/resources';
import { intFlag, parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { onInterrupt } from './interrupt';
import { podReady } from './pod-status';
import { isOwnedBy, newReplicaSet, replicaSetsOf } from './rollout-state';
import { resolveKind } from './resource-names';
import type { ClusterClient, Verb } from './types';

/** The pod a deployment's log comes from: a ready pod of its current ReplicaSet if there is one. */
export function pickPod(d: Deployment, replicaSets: ReplicaSet[], pods: Pod[]): Pod | undefined {
  const owned = replicaSetsOf(d, replicaSets);
  const current = newReplicaSet(d, owned);
  const candidates = pods.filter((p) => (current ? isOwnedBy(p, current) : owned.some((rs) => isOwnedBy(p, rs))) && !p.metadata.deletionTimestamp);
  const byName = (a: Pod, b: Pod) => (a.metadata.name! < b.metadata.name! ? -1 : 1);
  return candidates.filter(podReady).sort(byName)[0] ?? candidates.sort(byName)[0];
}

async function podName(client: ClusterClient, arg: string, namespace: string, err: (s: string) => void): Promise<string> {
  const slash = arg.indexOf('/');
  if (slash < 0) return arg;
  const info = resolveKind(arg.slice(0, slash));
  const name = arg.slice(slash + 1);
  if (info.kind === 'Pod') return name;
  if (info.kind === 'Job') {
    // kubectl's choice for a Job: its first pod, by name.
    const job = await client.get<Job>('Job', namespace, name);
    const { items } = await client.list<Pod>('Pod', { namespace });
    const pods = items.filter((p) => isOwnedBy(p, job)).sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    if (pods.length === 0) throw new CliError(`job "${name}" has no pods`);
    if (pods.length > 1) err(`Found ${pods.length} pods, using pod/${pods[0]!.metadata.name}\n`);
    return pods[0]!.metadata.name!;
  }
  if (info.kind !== 'Deployment') throw new CliError(`cannot get logs of ${info.plural}: name a pod, a deployment or a job`);
  const d = await client.get<Deployment>('Deployment', namespace, name);
  const [{ items: replicaSets }, { items: pods }] = await Promise.all([
    client.list<ReplicaSet>('ReplicaSet', { namespace }),
    client.list<Pod>('Pod', { namespace }),
  ]);
  const pod = pickPod(d, replicaSets, pods);
  if (!pod) throw new CliError(`deployment "${name}" has no pods`);
  const count = pods.filter((p) => replicaSetsOf(d, replicaSets).some((rs) => isOwnedBy(p, rs))).length;
  if (count > 1) err(`Found ${count} pods, using pod/${pod.metadata.name}\n`);
  return pod.metadata.name!;
}

export const logs: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, {
    container: { type: 'string', short: 'c' },
    follow: { type: 'boolean', short: 'f' },
    tail: { type: 'string' },
    timestamps: { type: 'boolean' },
    namespace: { type: 'string', short: 'n' },
  });
  if (positionals.length !== 1) throw new CliError('expected one pod: berth logs POD [-c CONTAINER] [-f] [--tail N] [--timestamps]');
  const namespace = values.namespace || 'default';
  const tail = values.tail === undefined || values.tail === '-1' ? -1 : intFlag('--tail', values.tail)!;
  const name = await podName(ctx.client, positionals[0]!, namespace, ctx.err);
  const stream = ctx.client.logs({ namespace, name, container: values.container, follow: Boolean(values.follow), tailLines: tail, timestamps: Boolean(values.timestamps) });
  const stop = onInterrupt(() => stream.cancel());
  // A character may be split across chunks.
  const decoder = new StringDecoder('utf8');
  try {
    for await (const chunk of stream) ctx.out(decoder.write(chunk));
    ctx.out(decoder.end());
  } finally {
    stop();
  }
  return 0;
};
