// Helpers for the node end-to-end tests: a real controller (in this process, on a free loopback
// port), a gRPC client of its Cluster API, and pod documents.

import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadClusterApi, type ClusterClient } from '../../proto/grpc';
import type { Event, Node, Pod, PodStatus } from '../../proto/resources';
import { startController, type Controller } from '../../controller';
import type { Teardown } from '../fixtures/registry';
import { eventually } from '../fixtures/wait';
import { kubeconfigCredentials } from '../fixtures/credentials';
import { testClusterCidr, testServiceCidr } from '../fixtures/controller';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Cluster {
  address: string;
  client: ClusterClient;
  apply(doc: object): Promise<void>;
  /** undefined: not found. */
  pod(name: string, namespace?: string): Promise<Pod | undefined>;
  /** A Node as stored (its pod CIDR, addresses). */
  node(name: string): Promise<Node | undefined>;
  deletePod(name: string): Promise<void>;
  events(pod: string): Promise<Event[]>;
  /** Every status the pod has had from now on, in order (a watch). */
  statuses(name: string): { seen: PodStatus[]; stop(): void };
  /** Logs through the controller (and the agent's tunnel). Rejects with the gRPC error. */
  logs(name: string, options?: { container?: string; tailLines?: number; timestamps?: boolean }): Promise<string>;
  /** A new join token for an agent (berth agent --token). */
  joinToken(): Promise<string>;
  /** The controller itself (its registry, for writes no API call makes, like a forced delete). */
  controller(): Controller;
  /** Stop the controller, run `meanwhile`, start it again on the same address and data root. */
  restart(meanwhile: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

function unary<T>(fn: (cb: (err: grpc.ServiceError | null, r?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, r) => (err ? reject(err) : resolve(r as T))));
}

export async function startCluster(t: Teardown, dir: string): Promise<Cluster> {
  const dataRoot = path.join(dir, 'controller-root');
  fs.mkdirSync(dataRoot, { recursive: true });
  // Its own pod addresses: other tests' clusters run on this host at the same time.
  const clusterCidr = testClusterCidr();
  const serviceCidr = testServiceCidr();
  let controller = await startController({ dataRoot, listen: '127.0.0.1:0', clusterCidr, serviceCidr });
  const { Cluster: ClusterService } = loadClusterApi().berth.cluster.v1;
  const client = new ClusterService(controller.address, kubeconfigCredentials(controller.adminKubeconfig)) as unknown as ClusterClient;
  const watches: Array<() => void> = [];
  const stop = async () => {
    for (const w of watches) w();
    client.close();
    await controller.stop();
  };
  t.teardown(stop);
  return {
    address: controller.address,
    client,
    async apply(doc) {
      await unary((cb) => client.apply({ objects: [{ json: JSON.stringify(doc) }] }, cb));
    },
    async pod(name, namespace = 'default') {
      try {
        const o = await unary<{ json: string }>((cb) => client.get({ kind: 'Pod', namespace, name }, cb));
        return JSON.parse(o.json) as Pod;
      } catch (err) {
        if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND) return undefined;
        throw err;
      }
    },
    async node(name) {
      try {
        return JSON.parse((await unary<{ json: string }>((cb) => client.get({ kind: 'Node', namespace: '', name }, cb))).json) as Node;
      } catch (err) {
        if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND) return undefined;
        throw err;
      }
    },
    async deletePod(name) {
      await unary((cb) => client.delete({ kind: 'Pod', namespace: 'default', name }, cb));
    },
    async events(pod) {
      const r = await unary<{ items: Array<{ json: string }> }>((cb) => client.list({ kind: 'Event', namespace: 'default', fieldSelector: `involvedObject.name=${pod}` }, cb));
      return r.items.map((i) => JSON.parse(i.json) as Event);
    },
    statuses(name) {
      const seen: PodStatus[] = [];
      const call = client.watch({ kind: 'Pod', namespace: 'default', fieldSelector: `metadata.name=${name}` });
      call.on('data', (e: { type: string; object?: { json: string } }) => {
        if (e.object?.json) {
          const status = (JSON.parse(e.object.json) as Pod).status;
          if (status) seen.push(status);
        }
      });
      call.on('error', () => {});
      const stopWatch = () => call.cancel();
      watches.push(stopWatch);
      return { seen, stop: stopWatch };
    },
    logs(name, options = {}) {
      return new Promise((resolve, reject) => {
        const call = client.logs({ namespace: 'default', name, container: options.container ?? '', follow: false, tailLines: options.tailLines ?? -1, timestamps: options.timestamps ?? false });
        let out = '';
        call.on('data', (c: { data: Buffer }) => (out += c.data.toString()));
        call.on('error', reject);
        call.on('end', () => resolve(out));
      });
    },
    async joinToken() {
      const r = await unary<{ token: string }>((cb) => client.createToken({ ttlSeconds: 600, description: 'test' }, cb));
      return r.token;
    },
    controller: () => controller,
    async restart(meanwhile) {
      await controller.stop();
      await meanwhile();
      controller = await startController({ dataRoot, listen: controller.address, clusterCidr, serviceCidr });
    },
    stop,
  };
}

/** Poll until `probe` returns something truthy. */
export const until = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> =>
  eventually(what, probe, timeoutMs, 100);


export function podDoc(name: string, nodeName: string, spec: Partial<Pod['spec']> & Pick<Pod['spec'], 'containers'>): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName, ...spec } };
}
