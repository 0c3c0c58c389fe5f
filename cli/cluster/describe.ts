// berth describe KIND [NAME...] | KIND/NAME... [-n NS] [-l SEL]: each object with what is
// related to it (a Deployment's ReplicaSets, a node's pods) and the events about it.

import { SERVICE_NAME_LABEL, type ConfigMap, type DaemonSet, type Deployment, type EndpointSlice, type Event, type Job, type KindInfo, type Namespace, type Node, type Pod, type ReplicaSet, type Resource, type Secret, type Service } from '../../proto/resources';
import { parseFlags } from '../common/args';
import { NAMESPACE_OPTIONS } from './args';
import {
  describeConfigMap, describeDaemonSet, describeDeployment, describeGeneric, describeJob, describeSecret, describeNamespace, describeNode, describePod, describeReplicaSet, describeService, type Related,
} from './describe-format';
import { CliError } from '../common/errors';
import { errorText, isNotFound } from './errors';
import { parseTargets } from './resource-names';
import type { ClusterClient, Verb } from './types';

/** Events about `obj`: by kind and name on the server, and by uid here when the event names one. */
export async function eventsAbout(client: ClusterClient, obj: Resource, info: KindInfo): Promise<Event[]> {
  const name = obj.metadata.name ?? '';
  const { items } = await client.list<Event>('Event', {
    namespace: info.namespaced ? obj.metadata.namespace : undefined,
    fieldSelector: `involvedObject.kind=${obj.kind},involvedObject.name=${name}`,
  });
  return items.filter((e) => {
    const io = e.involvedObject;
    if (!io || io.kind !== obj.kind || io.name !== name) return false;
    // An event about an earlier object of the same name is not about this one.
    return !io.uid || !obj.metadata.uid || io.uid === obj.metadata.uid;
  });
}

async function relatedTo(client: ClusterClient, obj: Resource, info: KindInfo): Promise<Related> {
  const events = await eventsAbout(client, obj, info);
  const namespace = obj.metadata.namespace;
  switch (obj.kind) {
    case 'Deployment':
      return { events, replicaSets: (await client.list<ReplicaSet>('ReplicaSet', { namespace })).items };
    case 'ReplicaSet':
    case 'DaemonSet':
      return { events, pods: (await client.list<Pod>('Pod', { namespace })).items };
    case 'Node': {
      const { items } = await client.list<Pod>('Pod', { fieldSelector: `spec.nodeName=${obj.metadata.name}` });
      return { events, pods: items.filter((p) => p.spec.nodeName === obj.metadata.name) };
    }
    case 'Service':
      return { events, endpointSlices: (await client.list<EndpointSlice>('EndpointSlice', { namespace, labelSelector: `${SERVICE_NAME_LABEL}=${obj.metadata.name}` })).items };
    default:
      return { events };
  }
}

/** The description of one object (pure given its related objects). */
export function describeObject(obj: Resource, info: KindInfo, related: Related, now: Date): string {
  switch (obj.kind) {
    case 'Pod': return describePod(obj as Pod, related, now);
    case 'Deployment': return describeDeployment(obj as Deployment, related, now);
    case 'ReplicaSet': return describeReplicaSet(obj as ReplicaSet, related, now);
    case 'Job': return describeJob(obj as Job, related, now);
    case 'DaemonSet': return describeDaemonSet(obj as DaemonSet, related, now);
    case 'Node': return describeNode(obj as Node, related, now);
    case 'Namespace': return describeNamespace(obj as Namespace, related, now);
    case 'Service': return describeService(obj as Service, related, now);
    case 'ConfigMap': return describeConfigMap(obj as ConfigMap, related, now);
    case 'Secret': return describeSecret(obj as Secret, related, now);
    default: return describeGeneric(obj, info.namespaced, related, now);
  }
}

export const describe: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, { ...NAMESPACE_OPTIONS, selector: { type: 'string', short: 'l' } });
  if (positionals.length === 0) throw new CliError('you must specify the type of resource to describe (berth describe KIND [NAME])');
  const { kind, targets } = parseTargets(positionals, 'berth describe KIND NAME');
  const namespace = values.namespace || 'default';
  const objects: Array<{ obj: Resource; info: KindInfo }> = [];
  let status = 0;
  if (targets.length === 0) {
    // A kind alone: every object of it (in the namespace, or everywhere with -A).
    const ns = kind!.namespaced && !values['all-namespaces'] ? namespace : undefined;
    const { items } = await ctx.client.list(kind!.kind, { namespace: ns, labelSelector: values.selector ?? '' });
    if (items.length === 0) {
      ctx.err(kind!.namespaced && ns ? `No resources found in ${ns} namespace.\n` : 'No resources found\n');
      return 0;
    }
    objects.push(...items.map((obj) => ({ obj, info: kind! })));
  } else {
    if (values.selector) throw new CliError('name cannot be provided when a selector is specified');
    for (const t of targets) {
      try {
        objects.push({ obj: await ctx.client.get(t.info.kind, t.info.namespaced ? namespace : undefined, t.name), info: t.info });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        ctx.err(`${errorText(err)}\n`);
        status = 1;
      }
    }
  }
  const texts: string[] = [];
  for (const { obj, info } of objects) texts.push(describeObject(obj, info, await relatedTo(ctx.client, obj, info), ctx.now()));
  ctx.out(texts.join('\n\n'));
  return status;
};
