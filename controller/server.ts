// The controller process, composed: the store, the object registry over it, the API server
// (Cluster for users, Node for agents, over node sessions), and, while this controller leads, the
// controllers (scheduler, deployments, replica sets, node lifecycle, garbage collection). This is
// the one file that knows them all. Everything it decides it reads back from the store: it can
// restart at any time.

import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs/promises';
import { loadClusterApi } from '../proto/grpc';
import { NODE_LEASE_NAMESPACE } from '../proto/resources';
import { clusterHandlers, nodeHandlers, Tunnels } from './api';
import { nodeSessions } from './nodes';
import { ensureNamespace, Registry, type Clock } from './objects';
import { startControllers } from './controllers';
import { CONTROLLER_LEASE_NAMESPACE, electLeader, type LeaderElection } from './leader';
import { openStore } from './store';

export interface ControllerOptions {
  dataRoot: string;
  /** HOST:PORT; port 0 picks a free one (see `address`). */
  listen: string;
  /** 'sqlite' (default: <dataRoot>/state.db) or 'etcd://host:port[,host:port...]'. */
  store?: string;
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
}

export interface Controller {
  /** HOST:PORT the API listens on. */
  address: string;
  registry: Registry;
  /** Whether this controller runs the control loops now. */
  isLeader(): boolean;
  stop(): Promise<void>;
}

export const DEFAULT_LISTEN = '127.0.0.1:7443';
export const DEFAULT_NODE_GRACE_PERIOD_MS = 4000;
export const DEFAULT_POD_EVICTION_TIMEOUT_MS = 10000;
export const DEFAULT_LEADER_LEASE_MS = 6000;

/** Namespaces that always exist. */
const SYSTEM_NAMESPACES = ['default', NODE_LEASE_NAMESPACE, CONTROLLER_LEASE_NAMESPACE];

export async function startController(options: ControllerOptions): Promise<Controller> {
  const clock = options.clock ?? (() => new Date());
  const nodeGracePeriodMs = options.nodeGracePeriodMs ?? DEFAULT_NODE_GRACE_PERIOD_MS;
  const podEvictionTimeoutMs = options.podEvictionTimeoutMs ?? DEFAULT_POD_EVICTION_TIMEOUT_MS;
  await fs.mkdir(options.dataRoot, { recursive: true, mode: 0o700 });
  const store = await openStore(options.store ?? 'sqlite', options.dataRoot);
  const registry = new Registry(store, clock);
  let election: LeaderElection | undefined;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.keepalive_permit_without_calls': 1, 'grpc.keepalive_time_ms': 10000 });
  const tunnels = new Tunnels();
  try {
    for (const name of SYSTEM_NAMESPACES) await ensureNamespace(registry, name);

    let applying: Promise<unknown> = Promise.resolve();
    const serialize = <T>(fn: () => Promise<T>): Promise<T> => {
      const next = applying.then(fn, fn);
      applying = next.catch(() => undefined);
      return next;
    };
    const api = loadClusterApi().berth.cluster.v1;
    server.addService(api.Cluster.service, clusterHandlers({ registry, tunnels, serialize }));
    const sessions = nodeSessions({ registry, clock, leaseDurationMs: nodeGracePeriodMs });
    server.addService(api.Node.service, nodeHandlers({ registry, sessions, tunnels }));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(options.listen, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    if (options.controlLoops !== false) {
      // Several controllers may share one etcd: the API servers all serve, the leader reconciles.
      election = electLeader({
        registry,
        clock,
        durationMs: options.leaderLeaseMs ?? DEFAULT_LEADER_LEASE_MS,
        lead: async () => {
          const controllers = await startControllers({ registry, clock, nodeGracePeriodMs, podEvictionTimeoutMs });
          return () => controllers.stop();
        },
        ...(options.log ? { log: options.log } : {}),
      });
    }
    const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
    return {
      address: `${host}:${port}`,
      registry,
      isLeader: () => election?.isLeader() ?? false,
      async stop() {
        election?.stop();
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
    server.forceShutdown();
    await store.close();
    throw err;
  }
}
