// The agent process and its composition root: opens each subsystem once and wires them (the
// runtime gets the image service as its ImageStore and the snapshotter as its
// ContainerSnapshotter), then serves the image service and the container runtime over gRPC on a
// unix socket to local clients.

import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { loadAgentApi } from '../proto/grpc';
import { BerthError } from '../proto/errors';
import { Builder } from './build';
import { ImageService, type RegistryOptions } from './images';
import { ClusterDnsServer, createContainerNetwork, ensureBridgeNetfilter, IngressServer, planRoutes, DEFAULT_BRIDGE, DEFAULT_SUBNET, planNetworkPolicies, planProxy, policyTableFor, proxyTableFor, ServiceProxy, vxlanDeviceFor } from './network';
import { compileNodeOptions, startNodeAgent, type NodeAgentDeps, type NodeOptions, type RunningNodeAgent } from './node';
import { CgroupGroups, ContainerService, ContainerStore, createOciRuntime, hostAppArmorEnabled, hostAppArmorProfile } from './runtime';
import { openOverlaySnapshotter } from './snapshots';
import { DEFAULT_PLATFORM } from './oci';
import { builderHandlers, containersHandlers, systemHandlers, imagesHandlers } from './server';

export interface AgentOptions {
  dataRoot: string;
  socket: string;
  /** Runtime state that lives as long as the host is up: runc's root, monitors' records, network namespaces. */
  runDir?: string;
  registry?: RegistryOptions;
  /** Absolute cgroup under every hierarchy holding the containers. */
  cgroupParent?: string;
  /** Bytes the build cache may keep before each build trims it; default: 10% of the data root's filesystem. */
  builderKeepStorage?: number;
  bridge?: string;
  subnet?: string;
  /** Join a cluster: register this node with the controller and run the pods it binds here. */
  node?: NodeOptions;
}

export const DEFAULT_DATA_ROOT = '/var/lib/berth';
export const DEFAULT_SOCKET = '/run/berth/agent.sock';
export const DEFAULT_RUN_DIR = '/run/berth';
export const DEFAULT_CGROUP_PARENT = '/berth';

export interface RunningAgent {
  images: ImageService;
  containers: ContainerService;
  builder: Builder;
  /** Present when the agent was started with a controller. */
  node?: RunningNodeAgent;
  stop(): Promise<void>;
}

// sun_path holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH = 107;

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  if (Buffer.byteLength(options.socket) > MAX_SOCKET_PATH) {
    throw new BerthError('invalid-argument', `socket path ${options.socket} is longer than ${MAX_SOCKET_PATH} bytes, the limit of a unix socket address`);
  }
  // Bad node options fail before anything is started.
  if (options.node) compileNodeOptions(options.node);
  // Others may pass through (to reach a path they were given) but list nothing, as docker's root.
  await fs.mkdir(options.dataRoot, { recursive: true, mode: 0o711 });
  await fs.chmod(options.dataRoot, 0o711);
  const releaseLock = await lockDataRoot(options.dataRoot);
  try {
    // The container records first: the image service asks them which images are in use.
    const records = await ContainerStore.open(path.join(options.dataRoot, 'containers'));
    const snapshots = await openOverlaySnapshotter(path.join(options.dataRoot, 'snapshots'));
    const images = await ImageService.open({
      root: options.dataRoot,
      snapshots,
      usersOf: (imageId) => records.list().find((c) => c.config.imageId === imageId)?.id,
      ...(options.registry ? { registry: options.registry } : {}),
    });
    const runDir = options.runDir ?? DEFAULT_RUN_DIR;
    const oci = createOciRuntime({ runc: '/usr/sbin/runc', conmon: '/usr/bin/conmon', root: path.join(runDir, 'runc'), stateDir: path.join(runDir, 'conmon') });
    const network = createContainerNetwork({
      runDir: path.join(runDir, 'net'),
      stateDir: path.join(options.dataRoot, 'network'),
      bridge: options.bridge ?? DEFAULT_BRIDGE,
      subnet: options.subnet ?? DEFAULT_SUBNET,
      // A cluster node's containers take their addresses from the node's pod CIDR.
      subnetFromCluster: options.node !== undefined,
    });
    const cgroupParent = options.cgroupParent ?? DEFAULT_CGROUP_PARENT;
    const apparmorProfile = hostAppArmorProfile();
    const apparmorEnabled = hostAppArmorEnabled();
    const containers = await ContainerService.open({
      store: records,
      images,
      snapshots,
      oci,
      network,
      cgroupParent,
      nofile: containerNofile(),
      ...(apparmorProfile ? { apparmorProfile } : {}),
      apparmorEnabled,
    });
    const builder = await Builder.open({
      images,
      snapshots,
      runtime: { runc: '/usr/sbin/runc', root: path.join(runDir, 'runc-build'), cgroupParent, nofile: containerNofile(), ...(apparmorProfile ? { apparmorProfile } : {}) },
      network,
      initLayer: records.initLayer,
      workRoot: path.join(options.dataRoot, 'build'),
      cacheMountRoot: path.join(options.dataRoot, 'build-mounts'),
      // One per data root: two agents on a host do not clear each other's.
      secretPrefix: path.join('/dev/shm', `berth-build-secret-${createHash('sha256').update(path.resolve(options.dataRoot)).digest('hex').slice(0, 16)}-`),
      cacheFile: path.join(options.dataRoot, 'build-cache.json'),
      platform: DEFAULT_PLATFORM,
      keepStorage: options.builderKeepStorage ?? await defaultBuilderKeepStorage(options.dataRoot),
    });
    const api = loadAgentApi().berth.agent.v1;
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
    server.addService(api.Images.service, imagesHandlers(images));
    server.addService(api.Containers.service, containersHandlers(containers, images));
    server.addService(api.System.service, systemHandlers());
    server.addService(api.Builder.service, builderHandlers(builder));
    await fs.mkdir(path.dirname(options.socket), { recursive: true });
    // The lock says no other agent owns this data root, so a socket file left here is stale.
    await fs.rm(options.socket, { force: true });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${options.socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    await fs.chmod(options.socket, 0o660);
    let node: RunningNodeAgent | undefined;
    try {
      if (options.node) {
        const nodeOptions = { ...options.node, seccompRoot: path.join(options.dataRoot, 'seccomp') };
        node = await startNodeAgent(nodeOptions, {
          images, containers, network, podNetworkDevice: vxlanDeviceFor(options.bridge ?? DEFAULT_BRIDGE), cgroups: new CgroupGroups({ parent: cgroupParent }),
          pkiDir: path.join(options.dataRoot, 'pki'), podsDir: path.join(options.dataRoot, 'pods'),
          ...clusterServices(options.bridge ?? DEFAULT_BRIDGE),
        });
      }
    } catch (err) {
      server.forceShutdown();
      containers.close();
      await images.close();
      throw err;
    }
    return {
      images,
      containers,
      builder,
      ...(node ? { node } : {}),
      async stop() {
        await node?.stop();
        containers.close();
        await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        await images.close();
        await fs.rm(options.socket, { force: true });
        await releaseLock();
      },
    };
  } catch (err) {
    await releaseLock();
    throw err;
  }
}

/** One agent per data root: a pid file, taken over only when its process is gone. */
async function lockDataRoot(dataRoot: string): Promise<() => Promise<void>> {
  const file = path.join(dataRoot, 'agent.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(file, String(process.pid), { flag: 'wx' });
      return () => fs.rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
      if (pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new BerthError('failed-precondition', `data root ${dataRoot} is in use by another agent (pid ${pid})`);
      }
      await fs.rm(file, { force: true });
    }
  }
  throw new BerthError('internal', `cannot lock data root ${dataRoot}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Containers get docker's RLIMIT_NOFILE (1048576) but never above the agent's own hard limit:
 * raising a hard limit needs CAP_SYS_RESOURCE, which sandboxes withhold, and runc would fail.
 */
function containerNofile(): { soft: number; hard: number } {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const hard = Number(line?.split(/\s{2,}/)[2]);
  const limit = Number.isFinite(hard) && hard > 0 ? Math.min(hard, 1048576) : 1024;
  return { soft: limit, hard: limit };
}

/**
 * The node's part in the cluster's Services: a service proxy in an nftables table of its own
 * (named after the agent's bridge, so agents on one host never touch each other's), and the cluster
 * DNS on the pods' gateway.
 */
function clusterServices(bridge: string): Pick<NodeAgentDeps, 'syncServiceProxy' | 'syncNetworkPolicies' | 'startClusterDns' | 'startIngress'> {
  const log = (line: string) => process.stderr.write(`berth agent: ${line}\n`);
  const proxy = new ServiceProxy({ table: proxyTableFor(bridge), log });
  // The same executor, on a table of its own: policies and Services change apart.
  const policies = new ServiceProxy({ table: policyTableFor(bridge), log: (line) => log(`network policies: ${line}`) });
  let bridgeChecked = false;
  let policyTable: 'unknown' | 'absent' | 'present' = 'unknown';
  return {
    syncServiceProxy: async (state) => {
      await proxy.sync(planProxy({ ...state, services: [...state.services], slices: [...state.slices] }));
    },
    syncNetworkPolicies: async (state) => {
      // No policy, no table: a cluster without policies has nothing of them on its hosts (and a
      // table an earlier agent left is removed once).
      if (state.policies.length === 0) {
        if (policyTable !== 'absent') await policies.destroy();
        policyTable = 'absent';
        return;
      }
      if (!bridgeChecked) {
        bridgeChecked = true;
        const problem = ensureBridgeNetfilter();
        if (problem) log(problem);
      }
      await policies.sync(planNetworkPolicies(state));
      policyTable = 'present';
    },
    startIngress: async (ports, secret) => {
      const server = new IngressServer({ ...(ports.http ? { httpPort: ports.http } : {}), ...(ports.https ? { httpsPort: ports.https } : {}), secret, log });
      try {
        const bound = await server.listen();
        log(`ingress: serving${bound.http ? ` http on :${bound.http}` : ''}${bound.https ? ` https on :${bound.https}` : ''}`);
      } catch (err) {
        await server.close();
        throw new BerthError('failed-precondition', `ingress: cannot listen (--ingress-http-port ${ports.http ?? 0}, --ingress-https-port ${ports.https ?? 0}): ${(err as Error).message}`, { cause: err });
      }
      return { update: (state) => server.update(planRoutes(state)), close: () => server.close() };
    },
    startClusterDns: async (address) => {
      const dns = new ClusterDnsServer({ addresses: [address], port: 53, log });
      await dns.listen();
      return dns;
    },
  };
}

/** BuildKit's default cache limit: a tenth of the filesystem the data root is on. */
async function defaultBuilderKeepStorage(dataRoot: string): Promise<number> {
  const st = await fs.statfs(dataRoot);
  return Math.floor((st.blocks * st.bsize) / 10);
}
