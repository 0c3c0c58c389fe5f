// berth expose deployment/NAME|replicaset/NAME|pod/NAME|service/NAME [--port P] [--target-port T]
//   [--type ClusterIP|NodePort|LoadBalancer] [--name N] [--protocol TCP|UDP] [--cluster-ip IP|None]
//   [--selector k=v,...] [-n NS]: a Service in front of the object's pods, as kubectl expose makes
//   it ("service/web exposed"). Without --port, every port the pods declare.

import type { Deployment, Pod, ReplicaSet, Resource, Service, ServicePort } from '../../proto/resources';
import { parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { isNotFound } from './errors';
import { objectRef, singleTarget } from './resource-names';
import type { Verb } from './types';

const USAGE = 'berth expose deployment/NAME --port P [--target-port T] [--type ClusterIP|NodePort|LoadBalancer]';

export const expose: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, {
    port: { type: 'string' },
    'target-port': { type: 'string' },
    type: { type: 'string' },
    name: { type: 'string' },
    protocol: { type: 'string' },
    'cluster-ip': { type: 'string' },
    selector: { type: 'string' },
    namespace: { type: 'string', short: 'n' },
  });
  const target = singleTarget(positionals, USAGE, ['Deployment', 'ReplicaSet', 'Pod', 'Service']);
  const namespace = values.namespace || 'default';
  const source = await ctx.client.get(target.info.kind, namespace, target.name);
  const selector = values.selector ? parseSelector(values.selector) : selectorOf(source);
  const type = values.type ?? 'ClusterIP';
  if (!['ClusterIP', 'NodePort', 'LoadBalancer'].includes(type)) throw new CliError(`--type ${JSON.stringify(type)}: expected ClusterIP, NodePort or LoadBalancer`);
  const protocol = (values.protocol ?? 'TCP').toUpperCase();
  if (protocol !== 'TCP' && protocol !== 'UDP') throw new CliError(`--protocol ${JSON.stringify(values.protocol)}: expected TCP or UDP`);
  const ports = servicePorts(source, values.port, values['target-port'], protocol as 'TCP' | 'UDP');
  const name = values.name ?? target.name;
  const service: Service = {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace, ...(source.metadata.labels ? { labels: source.metadata.labels } : {}) },
    spec: { type: type as Service['spec']['type'], selector, ports, ...(values['cluster-ip'] ? { clusterIP: values['cluster-ip'] } : {}) },
  };
  try {
    await ctx.client.get('Service', namespace, name);
    throw new CliError(`Error from server (AlreadyExists): services "${name}" already exists`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await ctx.client.apply([service], { dryRun: false, applySet: '', prune: false });
  ctx.out(`${objectRef(service)} exposed\n`);
  return 0;
};

/** The pods' labels the Service selects by: a workload's matchLabels, a pod's labels, a Service's selector. */
function selectorOf(obj: Resource): Record<string, string> {
  const refuse = (why: string) => new CliError(`couldn't retrieve selectors via --selector flag or introspection: ${why}`);
  switch (obj.kind) {
    case 'Deployment':
    case 'ReplicaSet': {
      const { matchLabels, matchExpressions } = (obj as Deployment | ReplicaSet).spec.selector;
      if (matchExpressions?.length) throw refuse('the selector has matchExpressions, which a Service cannot hold; give --selector');
      if (!matchLabels || Object.keys(matchLabels).length === 0) throw refuse('the selector is empty');
      return { ...matchLabels };
    }
    case 'Pod': {
      const labels = obj.metadata.labels ?? {};
      if (Object.keys(labels).length === 0) throw refuse(`pod ${obj.metadata.name} has no labels`);
      return { ...labels };
    }
    default: {
      const selector = (obj as Service).spec.selector ?? {};
      if (Object.keys(selector).length === 0) throw refuse(`service ${obj.metadata.name} has no selector`);
      return { ...selector };
    }
  }
}

function servicePorts(obj: Resource, port: string | undefined, targetPort: string | undefined, protocol: 'TCP' | 'UDP'): ServicePort[] {
  const target = targetPort === undefined ? undefined : /^\d+$/.test(targetPort) ? Number(targetPort) : targetPort;
  if (port !== undefined) {
    const number = Number(port);
    if (!/^\d+$/.test(port) || number < 1 || number > 65535) throw new CliError(`--port ${JSON.stringify(port)}: not a port number`);
    return [{ port: number, protocol, targetPort: target ?? number }];
  }
  const declared = declaredPorts(obj);
  if (declared.length === 0) throw new CliError(`couldn't find port via --port flag or introspection (${USAGE})`);
  if (declared.length === 1) return [{ port: declared[0]!.port, protocol: declared[0]!.protocol, targetPort: target ?? declared[0]!.port }];
  if (target !== undefined) throw new CliError('--target-port needs --port when the pods declare several ports');
  return declared.map((p, i) => ({ name: `port-${i + 1}`, port: p.port, protocol: p.protocol, targetPort: p.port }));
}

function declaredPorts(obj: Resource): { port: number; protocol: 'TCP' | 'UDP' }[] {
  const containers = obj.kind === 'Pod' ? (obj as Pod).spec.containers
    : obj.kind === 'Service' ? []
      : (obj as Deployment | ReplicaSet).spec.template.spec.containers;
  if (obj.kind === 'Service') return ((obj as Service).spec.ports ?? []).map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP' }));
  return containers.flatMap((c) => (c.ports ?? []).map((p) => ({ port: p.containerPort, protocol: p.protocol ?? 'TCP' })));
}

function parseSelector(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const m = /^([^=!\s]+)==?([^=\s]*)$/.exec(part.trim());
    if (!m) throw new CliError(`--selector ${JSON.stringify(text)}: a Service selects by equality only (k=v,k2=v2)`);
    out[m[1]!] = m[2]!;
  }
  return out;
}
