// The node agent: the agent's half that talks to the controller. It wires the controller link
// (register, lease, pod watch, tunnel) to the pod workers, the status reporter, the event
// recorder and the log server, over the agent's own image service, runtime and network.

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { PersistentVolume, Secret } from '../../proto/resources';
import type { ImageService } from '../images';
import type { ContainerNetwork } from '../network';
import { effectivePidsLimit, type ContainerService } from '../runtime';
import { compileNodeOptions } from './config';
import { ControllerLink, sleep } from './controller-link';
import { nodeCredentials } from './credentials';
import { BerthError } from '../../proto/errors';
import { backoffDelay, RETRY_BACKOFF } from './backoff';
import { EventRecorder } from './event-recorder';
import { ImagePuller } from './image-puller';
import { LogServer } from './log-server';
import { hostFacts, nodeDocument, withIngressPorts, withLocalPathRoot } from './node-document';
import { LocalVolumes } from './local-volumes';
import { PodConfigCache } from './pod-config';
import { PodManager } from './pod-manager';
import { PortForwardServer } from './port-forward-server';
import { ExecServer } from './exec-server';
import { parseResolvConf } from './pod-dns';
import { PodNetwork, withVtepMac } from './pod-network';
import { PodTokens } from './pod-tokens';
import { PodVolumes } from './pod-volumes';
import { linuxHostMounts } from './host-mounts';
import { PodWatchState } from './pod-watch';
import { ServiceNetwork, type ServiceNetworkDeps } from './service-network';
import { NetworkPolicies, type NetworkPoliciesDeps } from './network-policies';
import { MetricsSampler } from './metrics';
import { IngressRoutes, type IngressState } from './ingress-routes';
import { StatusReporter } from './status-reporter';
import { systemClock, type Clock, type IngressPorts, type NodeConfig, type NodeOptions, type PodCgroups, type PodRuntime } from './types';

export interface NodeAgentDeps {
  images: Pick<ImageService, 'pull' | 'resolve'>;
  /** The pod workers' runtime, plus logs and attach (for the controller's requests) and change events. */
  containers: PodRuntime & Pick<ContainerService, 'logs' | 'observe' | 'attach' | 'resize' | 'runEnded'>;
  /** The pods' cgroups under the agent's cgroup parent. */
  cgroups: PodCgroups;
  network: ContainerNetwork;
  /** The pod network's VXLAN device (vxlan backend), the agent's own. */
  podNetworkDevice: string;
  /** Where the node's certificate, key and the cluster CA are kept (the agent's <data root>/pki). */
  pkiDir: string;
  /** Where each pod's directory is kept, its volumes and token (the agent's <data root>/pods). */
  podsDir: string;
  /** Where local-path volumes are made (default: <data root>/storage, beside podsDir). */
  storageDir?: string;
  /** Programs the host for the Services (the service proxy); absent: no proxy on this node. */
  syncServiceProxy?: ServiceNetworkDeps['syncProxy'];
  /**
   * Starts the ingress server on the node's ingress ports (only called when the node has some);
   * `secret` reads a tls Secret an Ingress names. Absent: Ingresses are not served here.
   */
  startIngress?(ports: IngressPorts, secret: (namespace: string, name: string) => Promise<Secret | undefined>): Promise<{ update(state: IngressState): void; close(): Promise<void> }>;
  /** Enforces NetworkPolicies on the host for this node's pods; absent: none are (and none watched). */
  syncNetworkPolicies?: NetworkPoliciesDeps['sync'];
  /** Starts the node's cluster DNS on the pods' gateway; absent: pods get the host's resolvers. */
  startClusterDns?: ServiceNetworkDeps['startDns'];
  /** The host's resolv.conf text (default: read /etc/resolv.conf when a pod's container is made). */
  hostResolvConf?(): string;
  clock?: Clock;
  log?: (line: string) => void;
}

export interface RunningNodeAgent {
  readonly config: NodeConfig;
  /** Stop talking to the controller; the pods' containers run on (the next agent adopts them). */
  stop(): Promise<void>;
}

export async function startNodeAgent(options: NodeOptions, deps: NodeAgentDeps): Promise<RunningNodeAgent> {
  const compiled = compileNodeOptions(options);
  const clock = deps.clock ?? systemClock;
  const log = deps.log ?? ((line: string) => process.stderr.write(`berth agent: ${line}\n`));
  // A pod may not be promised more processes than the host (or the agent's own cgroup) allows.
  const ceiling = deps.cgroups.pidsCeiling();
  const { pids, clamped } = effectivePidsLimit(compiled.podPidsLimit, ceiling);
  if (clamped) log(`--pod-pids-limit ${compiled.podPidsLimit} is above what this host allows (${ceiling}): pods get ${ceiling}`);
  const config: NodeConfig = { ...compiled, podPidsLimit: pids };
  const { credentials, joined } = await withRetries(() => nodeCredentials(config, deps.pkiDir, options.token), log);
  if (joined) log(`node ${config.nodeName} joined controller ${config.controller}; its certificate is kept in ${deps.pkiDir}`);
  const facts = await hostFacts();
  const watch = new PodWatchState(config.nodeName);
  const serviceNetwork = new ServiceNetwork({
    nodeName: config.nodeName, nodeIp: config.nodeIp, log,
    ...(deps.syncServiceProxy ? { syncProxy: deps.syncServiceProxy } : {}),
    ...(deps.startClusterDns ? { startDns: deps.startClusterDns } : {}),
  });
  const networkPolicies = deps.syncNetworkPolicies ? new NetworkPolicies({ nodeName: config.nodeName, sync: deps.syncNetworkPolicies, log }) : undefined;
  const ingressServer = config.ingressPorts && deps.startIngress
    ? await deps.startIngress(config.ingressPorts, async (namespace, name) => (await linked().podConfig('Secret', namespace, name)) as Secret | undefined)
    : undefined;
  const ingressRoutes = ingressServer ? new IngressRoutes({ current: () => serviceNetwork.currentState() }, (state) => ingressServer.update(state)) : undefined;
  if (ingressRoutes) serviceNetwork.onChange(() => ingressRoutes.changed());
  const podNetwork = new PodNetwork(config, deps.network, deps.podNetworkDevice, log, (network) => serviceNetwork.podNetworkReady(network));
  const hostResolvConf = deps.hostResolvConf ?? (() => readFileOr('/etc/resolv.conf', ''));
  const storageDir = deps.storageDir ?? path.join(path.dirname(deps.podsDir), 'storage');
  const document = () => withIngressPorts(withLocalPathRoot(withVtepMac(nodeDocument(config, facts), config.nodeIp), storageDir), ingressServer ? config.ingressPorts : undefined);
  // The link is made last (it needs the sink); the others only call it once it exists.
  let link: ControllerLink | undefined;
  const linked = () => {
    if (!link) throw new Error('the controller link is not started yet');
    return link;
  };
  let manager: PodManager | undefined;
  // The controller says whether the node is cordoned, with each registration and renewal.
  let unschedulable = false;
  const reporter = new StatusReporter((r) => linked().updatePodStatus(r), (uid) => manager?.terminated(uid));
  const events = new EventRecorder((e) => linked().recordEvent(e), config.nodeName, clock);
  const localVolumes = new LocalVolumes({
    root: storageDir, podsDir: deps.podsDir, mounts: linuxHostMounts, log,
    fetchVolume: async (name) => (await linked().podConfig('PersistentVolume', '', name)) as PersistentVolume | undefined,
  });
  const tokens = new PodTokens({ root: deps.podsDir, request: (ref) => linked().serviceAccountToken(ref), now: () => clock.now(), log });
  manager = new PodManager({
    config,
    clock,
    containers: deps.containers,
    cgroups: deps.cgroups,
    network: deps.network,
    puller: new ImagePuller(deps.images, clock),
    events,
    tokens,
    volumes: new PodVolumes({ root: deps.podsDir, mounts: linuxHostMounts, noteVolume: (pv) => void localVolumes.note(pv).catch((err: Error) => log(`local volumes: ${err.message}`)) }),
    services: {
      dnsAddress: () => serviceNetwork.dnsAddress(),
      hostDns: () => parseResolvConf(hostResolvConf()),
      services: () => serviceNetwork.currentServices(),
    },
    nodeAllocatable: () => document().status?.allocatable ?? {},
    podConfig: new PodConfigCache((kind, namespace, name) => linked().podConfig(kind, namespace, name)),
    report: (r) => reporter.report(r),
    log,
  }, () => ({ ...document(), spec: { unschedulable } }));
  const pods = manager;
  const forwards = new PortForwardServer((ns, name) => pods.podAddress(ns, name));
  const execs = new ExecServer((ns, name, container) => pods.logTarget(ns, name, container), deps.containers);
  const logs = new LogServer((ns, name, container) => pods.logTarget(ns, name, container), (id, o, onLine) => deps.containers.logs(id, o, onLine));
  link = new ControllerLink(config, document, {
    registered(_epoch, relist) {
      if (relist) {
        watch.relist();
        podNetwork.relist();
        serviceNetwork.relist();
        networkPolicies?.relist();
        ingressRoutes?.relist();
      }
      reporter.resendAll();
    },
    resumeFrom: () => watch.resumeFrom(),
    watchOpened: (resourceVersion) => watch.begin(resourceVersion),
    watchEvent: (event) => pods.apply(watch.apply(event)),
    tunnelRequest: (request, reply) => {
      if (!forwards.handle(request, reply) && !execs.handle(request, reply)) logs.handle(request, reply);
    },
    tunnelClosed: () => {
      logs.closeAll();
      forwards.closeAll();
      execs.closeAll();
    },
    leaseRecovered: () => reporter.resendAll(),
    nodeSpec(spec) {
      unschedulable = spec.unschedulable;
    },
    clusterNetwork: (network) => podNetwork.clusterNetwork(network),
    clusterWatches: {
      nodes: { resumeFrom: () => podNetwork.nodes.resumeFrom(), opened: (rv) => podNetwork.nodes.begin(rv), event: (e) => podNetwork.nodeEvent(e) },
      services: serviceNetwork.watchSink('services'),
      endpointSlices: serviceNetwork.watchSink('slices'),
    },
    ...(networkPolicies ? { policyWatches: networkPolicies.watchSinks() } : {}),
    ...(ingressRoutes ? { ingressWatches: ingressRoutes.watchSinks() } : {}),
  }, { dir: deps.pkiDir, initial: credentials }, log);
  const unobserve = deps.containers.observe((id) => pods.containerChanged(id));
  pods.adopt();
  link.start();
  // Resource usage, every metrics resolution; a report lost (the controller away) is simply the next one's.
  const sampler = new MetricsSampler({ nodeName: config.nodeName, containers: deps.containers, cgroups: deps.cgroups });
  const metrics = setInterval(() => {
    const report = sampler.sample(clock.now());
    linked().reportMetrics(report).catch(() => undefined);
  }, config.metricsResolutionMs);
  metrics.unref();
  // Directories of local volumes deleted since: looked for now and then (a sweep is a readdir and one read per volume).
  let sweeping = false;
  const sweeper = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    localVolumes.sweep().catch(() => undefined).finally(() => {
      sweeping = false;
    });
  }, LOCAL_VOLUME_SWEEP_MS);
  sweeper.unref();
  return {
    config,
    async stop() {
      clearInterval(sweeper);
      clearInterval(metrics);
      unobserve();
      logs.closeAll();
      forwards.closeAll();
      await pods.stop();
      reporter.stop();
      events.stop();
      tokens.stop();
      await linked().stop();
      await serviceNetwork.stop();
      await networkPolicies?.stop();
      await ingressServer?.close();
    },
  };
}

const LOCAL_VOLUME_SWEEP_MS = 10_000;

/** How long a join waits for a controller that cannot be reached yet (it may be starting too). */
const JOIN_PATIENCE_MS = 5 * 60_000;

/** `fn`, again while it fails only because the controller cannot be reached; anything else fails at once. */
async function withRetries<T>(fn: () => Promise<T>, log: (line: string) => void): Promise<T> {
  const deadline = Date.now() + JOIN_PATIENCE_MS;
  for (let failures = 1; ; failures++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof BerthError) || err.code !== 'unavailable' || Date.now() > deadline) throw err;
      if (failures === 1) log(`${err.message} (retrying)`);
      await sleep(backoffDelay(RETRY_BACKOFF, failures), new AbortController().signal);
    }
  }
}

function readFileOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}
