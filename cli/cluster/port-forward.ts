// berth port-forward pod/NAME|svc/NAME|deployment/NAME [LOCAL:]REMOTE... [--address 127.0.0.1]
// [-n NS]: listen on local ports and carry each connection to the pod's port through the
// controller and its node's agent, as kubectl port-forward does. A Service or Deployment picks
// one running pod of it (a Service's port is translated to its target port on that pod); the
// forward runs until interrupted.

import * as net from 'node:net';
import type { Deployment, Pod, ReplicaSet, Service } from '../../proto/resources';
import { parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { singleTarget } from './resource-names';
import type { ClusterClient, Verb } from './types';

const USAGE = 'berth port-forward pod/NAME|svc/NAME|deployment/NAME [LOCAL:]REMOTE...';

interface PortPair {
  local: number;
  remote: number;
}

export const portForward: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, {
    namespace: { type: 'string', short: 'n' },
    address: { type: 'string', default: '127.0.0.1' },
  });
  const [what, ...specs] = positionals;
  if (!what || specs.length === 0) throw new CliError(`TYPE/NAME and a list of ports are required for port-forward (${USAGE})`);
  const target = singleTarget([what], USAGE, ['Pod', 'Service', 'Deployment', 'ReplicaSet']);
  const namespace = values.namespace || 'default';
  const pairs = specs.map(parsePortPair);
  const { pod, ports } = await resolveTarget(ctx.client, target.info.kind, namespace, target.name, pairs);

  const servers: net.Server[] = [];
  for (const [i, pair] of pairs.entries()) {
    const remote = ports[i]!;
    // Half-open: a client that has sent everything (shutdown) still reads the answer.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      ctx.out(`Handling connection for ${pair.local}\n`);
      forward(ctx.client, socket, { namespace, name: pod, port: remote }, (message) => ctx.err(`E: ${message}\n`));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new CliError(`unable to listen on port ${pair.local}: ${err.message}`)));
      server.listen(pair.local, values.address, () => resolve());
    });
    const bound = (server.address() as net.AddressInfo).port;
    servers.push(server);
    ctx.out(`Forwarding from ${values.address}:${bound} -> ${remote}\n`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  for (const s of servers) s.close();
  return 0;
};

/** `8080:80`, `80` (the same port), `:80` (a free local port). */
function parsePortPair(spec: string): PortPair {
  const m = /^(\d*)(?::(\d+))?$/.exec(spec);
  const local = m?.[1] === '' ? 0 : Number(m?.[1]);
  const remote = Number(m?.[2] ?? m?.[1]);
  if (!m || (m[1] === '' && m[2] === undefined) || !(remote >= 1 && remote <= 65535) || !(local >= 0 && local <= 65535)) {
    throw new CliError(`invalid port "${spec}": expected [LOCAL:]REMOTE with ports from 1 to 65535`);
  }
  return { local, remote };
}

/** The pod to forward to, and each REMOTE as that pod's port (a Service port becomes its target port). */
async function resolveTarget(client: ClusterClient, kind: string, namespace: string, name: string, pairs: PortPair[]): Promise<{ pod: string; ports: number[] }> {
  if (kind === 'Pod') return { pod: name, ports: pairs.map((p) => p.remote) };
  let selector: Record<string, string>;
  let service: Service | undefined;
  if (kind === 'Service') {
    service = await client.get<Service>('Service', namespace, name);
    selector = service.spec.selector ?? {};
    if (Object.keys(selector).length === 0) throw new CliError(`service ${name} has no selector: no pod to forward to`);
  } else {
    const workload = await client.get<Deployment | ReplicaSet>(kind, namespace, name);
    selector = workload.spec.selector.matchLabels ?? {};
  }
  const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
  const { items } = await client.list<Pod>('Pod', { namespace, labelSelector });
  const pod = items.filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp)
    .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))[0];
  if (!pod) throw new CliError(`no running pod of ${kind.toLowerCase()} ${name} to forward to`);
  const ports = pairs.map((pair) => {
    if (!service) return pair.remote;
    const port = (service.spec.ports ?? []).find((p) => p.port === pair.remote);
    if (!port) throw new CliError(`Service ${name} does not have a service port ${pair.remote}`);
    const target = port.targetPort ?? port.port;
    if (typeof target === 'number') return target;
    const named = pod.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === target);
    if (!named) throw new CliError(`pod ${pod.metadata.name} has no port named ${target} (service ${name} port ${pair.remote})`);
    return named.containerPort;
  });
  return { pod: pod.metadata.name!, ports };
}

/** Carry one local connection over its own PortForward call. */
function forward(client: ClusterClient, socket: net.Socket, target: { namespace: string; name: string; port: number }, report: (message: string) => void): void {
  const remote = client.portForward(target);
  socket.on('data', (data) => remote.write(data));
  socket.on('end', () => remote.end());
  socket.on('error', () => remote.cancel());
  socket.on('close', () => remote.cancel());
  void (async () => {
    try {
      for await (const data of remote) socket.write(data);
      socket.end();
    } catch (err) {
      report(`an error occurred forwarding ${target.port}: ${(err as Error).message}`);
      socket.destroy();
    }
  })();
}
