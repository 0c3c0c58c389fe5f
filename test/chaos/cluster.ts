// The cluster a chaos run breaks, on real parts: controllers (one on SQLite, or two on a
// three-member etcd), three agents each on its own network-namespace host joined to a test bridge,
// a real registry on the bridge with three images. Each part can be broken and healed the way the
// schedule says: kill -9 and restart in place, link down and up, registry stopped and started.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTestHost, runCliAsync, startTestAgent, type CliResult, type TestAgent, type TestHost } from '../fixtures/agent';
import { startTestController, type TestController } from '../fixtures/controller';
import { startEtcdCluster } from '../fixtures/etcd';
import { makeTestNetwork, type TestHostNetwork } from '../fixtures/hosts';
import { buildImage, busyboxLayer, pushImage } from '../fixtures/images';
import { startRegistry, type Teardown, type TestRegistry } from '../fixtures/registry';
import { eventually } from '../fixtures/wait';
import type { FaultKind } from './schedule';

export type ChaosStore = 'sqlite' | 'etcd';

/** Short, so that a host that stays away loses its pods within a run (and comes back to find them replaced). */
const CONTROLLER_FLAGS = ['--node-grace-period', '2s', '--pod-eviction-timeout', '4s', '--leader-elect-lease-duration', '3s'];

export interface ChaosController {
  index: number;
  address: string;
  alive(): boolean;
  /** `berth --server ADDRESS ...args` with the admin kubeconfig, without blocking the event loop. */
  berth(args: string[]): Promise<CliResult>;
  output(): string;
  /** Whether it says it leads (its last word on leadership since it started). */
  leading(): boolean;
}

export interface ChaosHost {
  index: number;
  node: string;
  agent(): (TestAgent & { host: TestHost }) | undefined;
  host: TestHost;
  net: TestHostNetwork;
}

export interface ChaosCluster {
  store: ChaosStore;
  controllers: ChaosController[];
  hosts: ChaosHost[];
  registry: TestRegistry;
  /** Image references in the registry, one per version modulo their number. */
  images: string[];
  /** A live controller to talk to (the first alive). */
  anyController(): ChaosController;
  break(kind: FaultKind, target: number): Promise<void>;
  heal(kind: FaultKind, target: number): Promise<void>;
}

export async function startChaosCluster(t: Teardown, dir: string, store: ChaosStore): Promise<ChaosCluster> {
  const net = makeTestNetwork(t, 3);
  const registry = await startRegistry(t, { bindAddress: net.gateway });
  const images: string[] = [];
  for (let v = 0; v < 3; v++) {
    const image = await buildImage({ layers: [busyboxLayer(), [{ path: 'version', type: 'file', content: `${v}\n` }]] });
    await pushImage(registry.host, `chaos:${v}`, image);
    images.push(`${registry.host}/chaos:${v}`);
  }

  // Controllers listen on the bridge's address, where every host reaches them.
  const storeArgs = store === 'sqlite' ? [] : ['--store', `etcd://${(await startEtcdCluster(t, 3)).endpoints.join(',')}/berth-chaos/`];
  const controllerCount = store === 'sqlite' ? 1 : 2;
  const running: Array<TestController | undefined> = [];
  // Fixed ports below the kernel's ephemeral range (32768 and up): a killed controller comes back on
  // its port, which a client's outgoing connection from the same address could otherwise have taken.
  const basePort = 20000 + Math.floor(Math.random() * 10000);
  const listen: string[] = [];
  const startController = async (i: number) => {
    running[i] = await startTestController(t, dir, {
      dataRoot: path.join(dir, `controller-${i}`),
      listen: listen[i] ?? `${net.gateway}:${basePort + i}`,
      args: [...CONTROLLER_FLAGS, ...storeArgs],
    });
    listen[i] = running[i]!.address;
  };
  // The second controller on etcd starts once the first has made the cluster CA, so both share it.
  for (let i = 0; i < controllerCount; i++) await startController(i);
  const kubeconfig = running[0]!.kubeconfig;
  const controllers: ChaosController[] = running.map((_, i) => ({
    index: i,
    get address() {
      return listen[i]!;
    },
    alive: () => running[i] !== undefined,
    berth: (args) => runCliAsync(['--kubeconfig', kubeconfig, '--server', listen[i]!, ...args]),
    output: () => running[i]?.output() ?? '',
    leading: () => {
      const out = running[i]?.output() ?? '';
      return out.lastIndexOf('leading as') > out.lastIndexOf('no longer the leader');
    },
  }));

  const agents: Array<(TestAgent & { host: TestHost }) | undefined> = [];
  const hosts: ChaosHost[] = net.hosts.map((h, i) => ({ index: i, node: h.netns, net: h, host: makeTestHost(t), agent: () => agents[i] }));
  const startAgent = async (i: number, token?: string) => {
    const h = hosts[i]!;
    // With two controllers each host names one (an agent dials a single address), spread over both.
    const controller = listen[i % controllerCount]!;
    agents[i] = await startTestAgent(t, path.join(dir, h.node), [
      '--controller', controller, ...(token ? ['--token', token] : []), '--node-name', h.node, '--node-ip', h.net.ip, '--insecure-registry', registry.host,
    ], h.host, { netns: h.net.netns });
  };
  for (let i = 0; i < hosts.length; i++) await startAgent(i, running[0]!.token());

  const cluster: ChaosCluster = {
    store,
    controllers,
    hosts,
    registry,
    images,
    anyController: () => controllers.find((c) => c.alive()) ?? controllers[0]!,
    async break(kind, target) {
      switch (kind) {
        case 'kill-controller': {
          const c = running[target];
          running[target] = undefined;
          await c?.kill();
          return;
        }
        case 'kill-agent': {
          const a = agents[target];
          agents[target] = undefined;
          if (a) {
            process.kill(a.pid, 'SIGKILL');
            await eventually(`agent ${hosts[target]!.node} to die`, () => !fs.existsSync(`/proc/${a.pid}`) || isZombie(a.pid), 10_000);
          }
          return;
        }
        case 'cut-host':
          return net.cut(hosts[target]!.net);
        case 'stop-registry':
          return registry.stop();
      }
    },
    async heal(kind, target) {
      switch (kind) {
        case 'kill-controller':
          return startController(target);
        case 'kill-agent':
          return startAgent(target);
        case 'cut-host':
          return net.restore(hosts[target]!.net);
        case 'stop-registry':
          return registry.restart();
      }
    },
  };
  await eventually('three nodes Ready', async () => {
    const r = await cluster.anyController().berth(['get', 'nodes']);
    return r.stdout.split('\n').filter((l) => /\sReady\s/.test(l)).length === 3;
  }, 60_000, 200);
  return cluster;
}

function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
