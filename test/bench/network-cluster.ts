// A two-host berth cluster for the network suite, as the e2e tests make one (test/fixtures): two
// network-namespace hosts on a test bridge, a registry and the controller on the bridge's
// address, one real agent per host (nsenter --net), the pod network backend given. On it a server
// pod on host 1 (iperf3 -s on 5201) behind a ClusterIP Service (80 -> ECHO_PORT, where the suite
// runs a TCP echo server in the pod's namespace) and a client pod on host 0 (idle), both from an
// image holding Debian's iperf3 and the shared libraries ldd lists for it, over busybox. The CLI
// is the fixtures' (REPO_ROOT/dist/cli/main.js).
//
// Everything is undone by stop(), or by the bench's cleanup if the bench ends first: agents,
// controller, registry, then the hosts' containers, mounts and cgroups, then the namespaces.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Pod, Service } from '../../proto/resources';
import { CLI, makeTestHost, startTestAgent, type CliResult, type TestAgent } from '../fixtures/agent';
import { startTestController, testClusterCidr } from '../fixtures/controller';
import { makeTestNetwork, type TestHostNetwork } from '../fixtures/hosts';
import { buildImage, busyboxLayer, pushImage, type BuiltImage, type LayerEntry } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { Cleanup } from './cleanup';
import { removeTree } from './tools';
import { waitFor } from './proc';

export type PodNetworkBackend = 'host-gw' | 'vxlan';

export const IPERF_PORT = 5201;
/** The echo server's port (network-probe.ts), in the server pod's namespace and on host 1. */
export const ECHO_PORT = 7007;
export const SERVICE_PORT = 80;

/** One of the two pods: where it runs and how to reach into it. */
export interface BenchPod {
  name: string;
  ip: string;
  /** Its network namespace's file (the agent's run dir), for nsenter --net. */
  netns: string;
  /** Its container's id on its agent. */
  container: string;
  agent: TestAgent;
}

export interface NetCluster {
  backend: PodNetworkBackend;
  /** Host 0 runs the client pod, host 1 the server pod. */
  hosts: TestHostNetwork[];
  server: BenchPod;
  client: BenchPod;
  /** The Service's virtual IP (port SERVICE_PORT -> the server's HTTP_PORT). */
  clusterIp: string;
  /** The pods' interface MTU as the client pod has it, and the hosts' (eth0 of host 0). */
  podMtu: number;
  hostMtu: number;
  stop(): Promise<void>;
}

/** Debian's iperf3 with what `ldd` lists for it, at the same paths (to go over busybox). */
export function iperfLayer(): LayerEntry[] {
  const iperf = fs.realpathSync(execFileSync('sh', ['-c', 'command -v iperf3'], { encoding: 'utf8' }).trim());
  const libs = execFileSync('ldd', [iperf], { encoding: 'utf8' }).split('\n')
    .map((l) => /=>\s*(\/\S+)/.exec(l)?.[1] ?? /^\s*(\/\S+)/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined);
  const dirs = new Set<string>();
  for (const lib of libs) for (let d = path.dirname(lib); d !== '/'; d = path.dirname(d)) dirs.add(d.slice(1));
  return [
    ...[...dirs].sort().map((d): LayerEntry => ({ path: d, type: 'dir' })),
    ...libs.map((lib): LayerEntry => ({ path: lib.slice(1), type: 'file', source: lib, mode: 0o755 })),
    { path: 'bin/iperf3', type: 'file', source: iperf, mode: 0o755 },
  ];
}

export const buildBenchImage = (): Promise<BuiltImage> => buildImage({ layers: [busyboxLayer(), iperfLayer()] });

const manifests = (image: string, serverNode: string, clientNode: string) => `apiVersion: v1
kind: Pod
metadata: {name: net-server, labels: {app: net-server}}
spec:
  nodeName: ${serverNode}
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${image}
      command: [iperf3, -s, -p, "${IPERF_PORT}"]
      ports: [{name: echo, containerPort: ${ECHO_PORT}}, {name: iperf, containerPort: ${IPERF_PORT}}]
---
apiVersion: v1
kind: Pod
metadata: {name: net-client, labels: {app: net-client}}
spec:
  nodeName: ${clientNode}
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${image}
      command: [sh, -c, 'trap "exit 0" TERM; sleep 3600 & wait']
---
apiVersion: v1
kind: Service
metadata: {name: net-server}
spec:
  selector: {app: net-server}
  ports: [{port: ${SERVICE_PORT}, targetPort: echo}]
`;

const ok = (r: CliResult, what: string): string => {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${(r.stderr || r.stdout).trim().slice(-1500)}`);
  return r.stdout;
};

export async function startNetCluster(backend: PodNetworkBackend, image: BuiltImage, outer: Cleanup, log: (line: string) => void): Promise<NetCluster> {
  // Its own cleanup, run by stop() or, if the bench ends first, by the bench's.
  const cleanup = new Cleanup();
  outer.teardown(() => cleanup.run());
  try {
    // Registered first, so undone last (the undos run newest first): the directory, then the
    // namespaces, then each host's containers, mounts and cgroups after its agent has stopped.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `berth-bench-net-${backend}-`));
    cleanup.teardown(() => removeTree(dir));
    const network = makeTestNetwork(cleanup, 2);
    const testHosts = network.hosts.map(() => makeTestHost(cleanup));
    const registry = await startRegistry(cleanup, { bindAddress: network.gateway });
    await pushImage(registry.host, 'netbench:1', image);
    const ref = `${registry.host}/netbench:1`;

    const controller = await startTestController(cleanup, dir, {
      listen: `${network.gateway}:0`, args: ['--pod-network', backend, '--cluster-cidr', testClusterCidr()],
    });
    const agents: TestAgent[] = [];
    for (const [i, h] of network.hosts.entries()) {
      agents.push(await startTestAgent(cleanup, path.join(dir, h.netns), [
        '--controller', controller.address, '--token', controller.token(), '--node-name', h.netns, '--node-ip', h.ip, '--insecure-registry', registry.host,
      ], testHosts[i], { netns: h.netns }));
    }
    const json = <T>(args: string[]) => JSON.parse(ok(controller.berth([...args, '-o', 'json']), `berth ${args.join(' ')}`)) as T;
    let last = '';
    await waitFor('two nodes with a pod CIDR', () => {
      const nodes = json<{ items: Array<{ metadata: { name: string }; spec?: { podCIDR?: string } }> }>(['get', 'nodes']).items;
      last = nodes.map((n) => `${n.metadata.name} ${n.spec?.podCIDR ?? '-'}`).join(', ');
      return nodes.filter((n) => n.spec?.podCIDR).length === 2;
    }, () => `${last}\n${agents.map((a) => a.output().slice(-1000)).join('\n')}`, 60_000, 200);

    const file = path.join(dir, 'net.yaml');
    const [h0, h1] = network.hosts as [TestHostNetwork, TestHostNetwork];
    fs.writeFileSync(file, manifests(ref, h1.netns, h0.netns));
    ok(controller.berth(['apply', '-f', file]), 'berth apply');
    let ips = new Map<string, string>();
    await waitFor('both pods Running with an IP', () => {
      const items = json<{ items: Pod[] }>(['get', 'pods']).items;
      last = items.map((p) => `${p.metadata.name} ${p.status?.phase} ${p.status?.podIP ?? ''}`).join(', ');
      ips = new Map(items.filter((p) => p.status?.phase === 'Running' && p.status.podIP).map((p) => [p.metadata.name!, p.status!.podIP!]));
      return ips.size === 2;
    }, () => `${last}\n${agents.map((a) => a.output().slice(-1500)).join('\n')}`, 120_000, 200);

    const pod = (name: string, agent: TestAgent): BenchPod => {
      const container = ok(agent.berth(['ps', '-q', '--filter', `label=io.kubernetes.pod.name=${name}`]), 'berth ps').trim().split('\n')[0] ?? '';
      if (!container) throw new Error(`no container of pod ${name} on its agent`);
      const [doc] = JSON.parse(ok(agent.berth(['inspect', container]), 'berth inspect')) as Array<{ HostConfig?: { NetworkMode?: string } }>;
      const netns = /^netns:(.+)$/.exec(doc?.HostConfig?.NetworkMode ?? '')?.[1];
      if (!netns || !fs.existsSync(netns)) throw new Error(`pod ${name}: no network namespace in its container's NetworkMode (${doc?.HostConfig?.NetworkMode})`);
      return { name, ip: ips.get(name)!, netns, container, agent };
    };
    const server = pod('net-server', agents[1]!);
    const client = pod('net-client', agents[0]!);
    const clusterIp = json<Service>(['get', 'svc', 'net-server']).spec.clusterIP!;
    // Over netlink: /sys, mounted for the host's namespace, would show the host's eth0 whatever nsenter entered.
    const mtuIn = (netns: string) => (JSON.parse(execFileSync('nsenter', [`--net=${netns}`, '--', 'ip', '-j', 'link', 'show', 'eth0'], { encoding: 'utf8' })) as Array<{ mtu: number }>)[0]!.mtu;
    const mtu = mtuIn(client.netns);
    const hostMtu = mtuIn(`/run/netns/${h0.netns}`);
    log(`bench: ${backend} cluster: controller ${controller.address}, hosts ${h0.netns} ${h0.ip} (client pod ${client.ip}), ${h1.netns} ${h1.ip} (server pod ${server.ip}); `
      + `Service ${clusterIp}:${SERVICE_PORT}; MTU pods ${mtu}, hosts ${hostMtu}; CLI ${fs.realpathSync(CLI)}`);
    return {
      backend,
      hosts: network.hosts,
      server,
      client,
      clusterIp,
      podMtu: mtu,
      hostMtu,
      stop: () => cleanup.run(),
    };
  } catch (err) {
    await cleanup.run();
    throw err;
  }
}
