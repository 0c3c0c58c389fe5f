// The controller process, composed: the store, the object registry over it, the cluster CA and
// the service account signing key (both shared through the store), the API server over TLS
// (Cluster for users, authenticated by certificate or service account token and authorized by
// RBAC; Node for agents, over node sessions), and, while this controller leads, the controllers
// (scheduler, deployments, replica sets, node lifecycle, garbage collection, service accounts,
// node IPAM) writing through a registry fenced by the leader's lease. This is the one file that
// knows them all. Everything it decides it reads back from the store: it can restart at any time (and each
// start issues a fresh serving certificate, valid a year).

import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadClusterApi } from '../proto/grpc';
import { BerthError } from '../proto/errors';
import { formatCidr, overlaps, parseCidr } from '../proto/network/cidr';
import { acceptedDefinitions, KINDS, NODE_LEASE_NAMESPACE, setCustomKinds, type CustomResourceDefinition } from '../proto/resources';
import { buildKubeconfig, formatKubeconfig, parseKubeconfig, serverUrl } from '../proto/trust/kubeconfig';
import { authenticator, BootstrapTokens, ensureBootstrapPolicy, MASTERS_GROUP, mastersFirst, RbacAuthorizer } from './auth';
import { clusterHandlers, nodeHandlers, serverCredentials, Tunnels } from './api';
import { MetricsStore } from './metrics';
import { Informer } from './cache';
import { nodeSessions } from './nodes';
import { ensureApiService, ensureSystemObjects, ensureNamespace, Registry, type Clock } from './objects';
import { caSigner, POD_NETWORK_BACKENDS, startControllers, type PodNetworkBackend, type PodNetworkOptions } from './controllers';
import { CONTROLLER_LEASE_NAMESPACE, electLeader, type LeaderElection } from './leader';
import { DEFAULT_NODE_PORT_RANGE, DEFAULT_SERVICE_CIDR, ServiceAllocator, serviceNetworkOptions } from './services';
import { encryptingStore, openStore, parseEncryptionConfig, type EtcdTransport, type Store } from './store';
import { LEAF_VALIDITY_DAYS, openClusterCa, requestedSubject, openServiceAccountTokens, type ClusterCa, type IssuedCertificate, type ServiceAccountTokens, type SharedCa } from './trust';

export interface ControllerOptions {
  dataRoot: string;
  /** HOST:PORT; port 0 picks a free one (see `address`). */
  listen: string;
  /** 'sqlite' (default: <dataRoot>/state.db) or 'etcd://host:port[,host:port...]'. */
  store?: string;
  /** TLS to etcd, or the explicit choice of plaintext to a remote etcd. */
  etcd?: EtcdTransport;
  /** A node whose lease is not renewed for this long turns NotReady. */
  nodeGracePeriodMs?: number;
  /** A node NotReady for this long has its pods replaced elsewhere. */
  podEvictionTimeoutMs?: number;
  clock?: Clock;
  /** Run the control loops (default) while leading. Off: the API server and store alone. */
  controlLoops?: boolean;
  /** How long the leader's lease lasts without renewal (several controllers on one etcd). */
  leaderLeaseMs?: number;
  /** Where to say what happens (leadership changes); default stdout. */
  log?: (line: string) => void;
  /** More names and addresses for the serving certificate (k3s's --tls-san), beyond this host's own. */
  tlsSans?: string[];
  /** How long a node's client certificate is valid; agents renew at two thirds of it. Default a year. */
  nodeCertificateValidityMs?: number;
  /** The pods' addresses, cut into one block per node (k3s' --cluster-cidr). Default 10.42.0.0/16. */
  clusterCidr?: string;
  /** Each node's block's prefix length (--node-cidr-mask-size). Default 24. */
  nodeCidrMaskSize?: number;
  /** How pod traffic crosses hosts (--pod-network vxlan|host-gw). Default vxlan. */
  podNetwork?: string;
  /** The Services' virtual IPs (--service-cidr). Default 10.43.0.0/16. */
  serviceCidr?: string;
  /** The node ports NodePort Services get (--service-node-port-range). Default 30000-32767. */
  nodePortRange?: string;
  /** Kubernetes' EncryptionConfiguration file: which resources are sealed at rest, with which keys (--encryption-provider-config). */
  encryptionConfig?: string;
}

export interface Controller {
  /** HOST:PORT the API listens on. */
  address: string;
  registry: Registry;
  /** The cluster CA (tests issue credentials with it). */
  ca: ClusterCa;
  /** The admin's kubeconfig, written on first start (0600): `<dataRoot>/admin.kubeconfig`. */
  adminKubeconfig: string;
  /** Whether this controller runs the control loops now. */
  isLeader(): boolean;
  stop(): Promise<void>;
}

export const DEFAULT_LISTEN = '127.0.0.1:7443';
export const DEFAULT_NODE_GRACE_PERIOD_MS = 4000;
export const DEFAULT_POD_EVICTION_TIMEOUT_MS = 10000;
export const DEFAULT_LEADER_LEASE_MS = 6000;
export const DEFAULT_CLUSTER_CIDR = '10.42.0.0/16';
export const DEFAULT_NODE_CIDR_MASK_SIZE = 24;

/** Namespaces that always exist. */
const SYSTEM_NAMESPACES = ['default', NODE_LEASE_NAMESPACE, CONTROLLER_LEASE_NAMESPACE];

/** The admin credential's user and group, as kubeadm's admin.conf. */
export const ADMIN_USER = 'berth-admin';
const CA_KEY = '/berth/cluster-ca';
const SERVICE_ACCOUNT_KEY = '/berth/service-account-key';

export async function startController(options: ControllerOptions): Promise<Controller> {
  const clock = options.clock ?? (() => new Date());
  const nodeGracePeriodMs = options.nodeGracePeriodMs ?? DEFAULT_NODE_GRACE_PERIOD_MS;
  const podEvictionTimeoutMs = options.podEvictionTimeoutMs ?? DEFAULT_POD_EVICTION_TIMEOUT_MS;
  const podNetwork = podNetworkOptions(options.clusterCidr ?? DEFAULT_CLUSTER_CIDR, options.nodeCidrMaskSize ?? DEFAULT_NODE_CIDR_MASK_SIZE, options.podNetwork ?? 'vxlan');
  const serviceNetwork = serviceNetworkOptions(options.serviceCidr ?? DEFAULT_SERVICE_CIDR, options.nodePortRange ?? DEFAULT_NODE_PORT_RANGE);
  if (overlaps(serviceNetwork.serviceCidr, podNetwork.clusterCidr)) {
    throw new BerthError('invalid-argument', `--service-cidr ${formatCidr(serviceNetwork.serviceCidr)} overlaps --cluster-cidr ${formatCidr(podNetwork.clusterCidr)}: Services' and pods' addresses must differ`);
  }
  const encryption = options.encryptionConfig ? parseEncryptionConfig(await fs.readFile(options.encryptionConfig, 'utf8'), options.encryptionConfig) : undefined;
  await fs.mkdir(options.dataRoot, { recursive: true, mode: 0o700 });
  const opened = await openStore(options.store ?? 'sqlite', options.dataRoot, options.etcd ?? {});
  const store = encryption ? encryptingStore(opened, encryption) : opened;
  const allocator = new ServiceAllocator(store, serviceNetwork, () => clock().getTime());
  const registry = new Registry(store, clock, undefined, allocator);
  let ca: ClusterCa;
  let serviceAccountTokens: ServiceAccountTokens;
  try {
    ca = await openClusterCa(path.join(options.dataRoot, 'pki'), sharedPair(store, CA_KEY));
    serviceAccountTokens = await openServiceAccountTokens(sharedPair(store, SERVICE_ACCOUNT_KEY));
  } catch (err) {
    await store.close();
    throw err;
  }
  let election: LeaderElection | undefined;
  let rbac: RbacAuthorizer | undefined;
  let definitions: Informer<CustomResourceDefinition> | undefined;
  // 4 MiB per message, as grpc's default: a client cannot make the controller hold more for one call.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024, 'grpc.keepalive_permit_without_calls': 1, 'grpc.keepalive_time_ms': 10000 });
  const tunnels = new Tunnels();
  try {
    for (const name of SYSTEM_NAMESPACES) await ensureNamespace(registry, name);
    await ensureSystemObjects(registry);

    let applying: Promise<unknown> = Promise.resolve();
    const serialize = <T>(fn: () => Promise<T>): Promise<T> => {
      const next = applying.then(fn, fn);
      applying = next.catch(() => undefined);
      return next;
    };
    const api = loadClusterApi().berth.cluster.v1;
    const tokens = new BootstrapTokens(store, clock);
    await ensureBootstrapPolicy(registry);
    rbac = new RbacAuthorizer(registry);
    await rbac.start();
    // Every API server knows every custom kind: the catalog follows the definitions in the store.
    const watched = definitions = new Informer<CustomResourceDefinition>(registry, 'CustomResourceDefinition');
    const learn = () => setCustomKinds(acceptedDefinitions(watched.list(), KINDS).accepted);
    watched.onChange(learn);
    await watched.start();
    learn();
    const authorizer = mastersFirst(rbac);
    const metrics = new MetricsStore(store, () => clock().getTime());
    server.addService(api.Cluster.service, clusterHandlers({ registry, tunnels, serialize, authenticate: authenticator(serviceAccountTokens, registry), authorizer, tokens, ca, clock, metrics }));
    const sessions = nodeSessions({ registry, clock, leaseDurationMs: nodeGracePeriodMs });
    server.addService(api.Node.service, nodeHandlers({
      registry, sessions, tunnels, ca, tokens, serviceAccountTokens, clusterCidr: formatCidr(podNetwork.clusterCidr), podNetwork: podNetwork.backend, metrics,
      nodeCertificateValidityMs: options.nodeCertificateValidityMs ?? LEAF_VALIDITY_DAYS * 24 * 3600 * 1000,
    }));
    const host = options.listen.slice(0, options.listen.lastIndexOf(':')).replace(/^\[|\]$/g, '');
    const serving = await ca.issueServing(servingNames(host, [...apiServiceNames(allocator.apiServiceIP()), ...options.tlsSans ?? []]));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(options.listen, serverCredentials(ca.certPem, serving), (err, p) => (err ? reject(err) : resolve(p))));
    const reachable = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
    const address = reachable.includes(':') ? `[${reachable}]:${port}` : `${reachable}:${port}`;
    await ensureApiService(registry, allocator.apiServiceIP(), host, port);
    const adminKubeconfig = path.join(options.dataRoot, 'admin.kubeconfig');
    await writeAdminKubeconfig(adminKubeconfig, ca, address);
    if (options.controlLoops !== false) {
      // Several controllers may share one etcd: the API servers all serve, the leader reconciles.
      election = electLeader({
        registry,
        clock,
        durationMs: options.leaderLeaseMs ?? DEFAULT_LEADER_LEASE_MS,
        lead: async (fence) => {
          const controllers = await startControllers({ registry: registry.fenced(fence), clock, nodeGracePeriodMs, podEvictionTimeoutMs, podNetwork, metrics, signClient: caSigner(ca, requestedSubject) });
          return () => controllers.stop();
        },
        ...(options.log ? { log: options.log } : {}),
      });
    }
    return {
      address,
      registry,
      ca,
      adminKubeconfig,
      isLeader: () => election?.isLeader() ?? false,
      async stop() {
        election?.stop();
        rbac?.stop();
        definitions?.stop();
        tunnels.closeAll();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => { server.forceShutdown(); resolve(); }, 2000);
          server.tryShutdown(() => { clearTimeout(timer); resolve(); });
        });
        await store.close();
      },
    };
  } catch (err) {
    election?.stop();
    rbac?.stop();
    definitions?.stop();
    server.forceShutdown();
    await store.close();
    throw err;
  }
}

/** A key pair (the CA, the token signing key) as every controller on this store shares it. */
function sharedPair(store: Store, key: string): SharedCa {
  const decode = (value: Buffer) => JSON.parse(value.toString()) as IssuedCertificate;
  return {
    read: async () => {
      const kv = await store.get(key);
      return kv ? decode(kv.value) : undefined;
    },
    offer: async (pair) => {
      try {
        await store.create(key, Buffer.from(JSON.stringify({ certPem: pair.certPem, keyPem: pair.keyPem })));
        return pair;
      } catch (err) {
        if ((err as { code?: string }).code !== 'already-exists') throw err;
        const kv = await store.get(key);
        return decode(kv!.value);
      }
    },
  };
}

/** What pods dial the API by (the `kubernetes` Service), as kube-apiserver's certificate names it. */
function apiServiceNames(clusterIP: string): string[] {
  return [clusterIP, 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];
}

/** What clients may dial this controller by: its own names and addresses, the listen host, and extra SANs. */
function servingNames(listenHost: string, extra: string[]): string[] {
  const names = new Set(['localhost', '127.0.0.1', '::1', os.hostname()]);
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (!a.address.startsWith('fe80')) names.add(a.address);
  if (listenHost && listenHost !== '0.0.0.0' && listenHost !== '::') names.add(listenHost);
  for (const san of extra) names.add(san);
  return [...names];
}

/**
 * The admin's kubeconfig: made on the first start with a fresh certificate for berth-admin in
 * system:masters; afterwards only its server is brought up to date (a controller restarted on
 * another port), keeping the credential a user may have copied.
 */
async function writeAdminKubeconfig(file: string, ca: ClusterCa, address: string): Promise<void> {
  let text: string | undefined;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) {
    const config = parseKubeconfig(text, file);
    const cluster = config.clusters[0]?.cluster;
    if (!cluster || cluster.server === serverUrl(address)) return;
    cluster.server = serverUrl(address);
    text = formatKubeconfig(config);
  } else {
    const admin = await ca.issueClient({ commonName: ADMIN_USER, organizations: [MASTERS_GROUP] });
    text = formatKubeconfig(buildKubeconfig({ cluster: 'berth', server: address, caPem: ca.certPem, user: ADMIN_USER, certPem: admin.certPem, keyPem: admin.keyPem }));
  }
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, text, { mode: 0o600 });
  await fs.rename(tmp, file);
}

/** The cluster CIDR and the node block size, checked before anything starts. */
function podNetworkOptions(clusterCidr: string, nodeMaskSize: number, backend: string): PodNetworkOptions {
  if (!(POD_NETWORK_BACKENDS as readonly string[]).includes(backend)) {
    throw new BerthError('invalid-argument', `--pod-network ${JSON.stringify(backend)}: expected ${POD_NETWORK_BACKENDS.join(' or ')}`);
  }
  const cidr = parseCidr(clusterCidr, '--cluster-cidr', 8, 28);
  if (!Number.isInteger(nodeMaskSize) || nodeMaskSize < cidr.prefix || nodeMaskSize > 28) {
    throw new BerthError('invalid-argument', `--node-cidr-mask-size ${nodeMaskSize}: must be ${cidr.prefix} (the cluster CIDR's ${formatCidr(cidr)}) to 28`);
  }
  return { clusterCidr: cidr, nodeMaskSize, backend: backend as PodNetworkBackend };
}
