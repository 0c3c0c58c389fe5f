// berth for the cluster benchmark: a real `berth controller` and one real `berth agent --controller`
// on a test host of its own (run dir, cgroup parent, bridge, subnet), both from dist/ as a user runs
// them; Deployments applied with `berth apply -f`, and the floor: the same number of containers by
// sequential `berth run -d` on the same agent. "Running" is checked three ways every time: the
// Deployment's status and its pods (the controller's view), the agent's container list (image,
// state), and runc's own state of those containers.
//
// Two builds can be driven: berth as it is (mutual TLS, the admin kubeconfig, agents joining with a
// token) and, for the tls suite, a build from before issue 9 (plaintext, `--server`, no token).

import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { call, containersClient } from '../../cli/node/agent-client';
import { loadClusterApi, type ClusterClient, type ContainersClient } from '../../proto/grpc';
import type { Deployment, Job, Node, Pod } from '../../proto/resources';
import { makeTestHost, type TestHost } from '../fixtures/agent';
import { kubeconfigCredentials } from '../fixtures/credentials';
import type { Cleanup } from './cleanup';
import { now, POLL_MS, REPLICA_COMMAND, runcRunning, type ImageRef } from './cluster-common';
import { runCommand, startDaemon, waitFor, type Daemon } from './proc';

/**
 * How a build's controller is reached. 'tls': since issue 9 it serves only mutual TLS; callers
 * present the admin kubeconfig it writes, agents join with a token from `berth token create`.
 * 'plain': a build from before (the tls suite's peer): plaintext gRPC, the CLI takes `--server`,
 * agents join with nothing.
 */
export type Transport = 'tls' | 'plain';

export interface BenchController {
  daemon: Daemon;
  /** HOST:PORT. */
  address: string;
  transport: Transport;
  /** The admin kubeconfig (undefined for 'plain'). */
  kubeconfig: string | undefined;
  /** The CLI's global flags that reach it (before the verb). */
  cliArgs: string[];
  /** Channel credentials for a grpc-js client of it. */
  credentials(): grpc.ChannelCredentials;
}

export interface BerthCluster {
  /** HOST:PORT of the controller. */
  address: string;
  /** Seconds from `berth apply` of a new Deployment until `replicas` pods run `image`. */
  create(name: string, replicas: number, image: ImageRef, timeoutMs: number): Promise<number>;
  /** Seconds from `berth apply` of the Deployment with `to` until all its pods run `to` and no other pod or container is left. */
  update(name: string, replicas: number, to: ImageRef, timeoutMs: number): Promise<number>;
  /** `berth delete deployment`, then wait until no pod and no container is left (not timed). */
  remove(name: string): Promise<void>;
  /** The floor: seconds for `count` sequential `berth run -d` of `image` until runc runs them all; then removes them (not timed). */
  floor(count: number, image: ImageRef): Promise<number>;
  /** Seconds from `berth apply` of a Job of `completions` pods running `command`, `parallelism` at a time, until it is Complete; then it goes with its pods (not timed). */
  job(name: string, completions: number, parallelism: number, image: ImageRef, command: string[], timeoutMs: number): Promise<number>;
  /** The job floor: seconds for `count` sequential `berth run --rm` of `command` on `image`, each to its end. */
  runs(count: number, image: ImageRef, command: string[]): Promise<number>;
  /** Of the controller and the agent (for their memory at the end). */
  pids: { controller: number; agent: number };
  /** The agent's --cgroup-parent (its pods' cgroups are below it). */
  cgroupParent: string;
}

/** A pod's containers are named k8s_<container>_<pod>_<namespace>_<uid> (agent/node/naming.ts). */
const isPodContainer = (name: string) => name.replace(/^\//, '').startsWith('k8s_');

interface Summary {
  id: string;
  name: string;
  image: string;
  status: string;
}

function unary<T>(fn: (cb: (err: grpc.ServiceError | null, r?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, r) => (err ? reject(err) : resolve(r as T))));
}

/** A Deployment of `replicas` pods of `image`, rolling updates with maxSurge and maxUnavailable 25%. */
export function deploymentManifest(name: string, replicas: number, image: string): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'box', image, imagePullPolicy: 'IfNotPresent', command: REPLICA_COMMAND }] },
      },
    },
  };
}

/** A `berth controller` of the build `cli` on a data root under `dir`, listening on a free port of 127.0.0.1. */
export async function startController(cli: string, dir: string, cleanup: Cleanup, transport: Transport = 'tls'): Promise<BenchController> {
  // setpriv: it dies with the bench even if the bench is killed before its cleanup.
  const daemon = startDaemon('setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, cli, 'controller', '--data-root', path.join(dir, 'controller-root'), '--listen', '127.0.0.1:0']);
  cleanup.teardown(() => daemon.stop(5000));
  let address: string | undefined;
  await waitFor('berth controller', () => {
    if (daemon.child.exitCode !== null) throw new Error(`berth controller exited (${daemon.child.exitCode}): ${daemon.output()}`);
    return (address = /listening on (\S+)/.exec(daemon.output())?.[1]) !== undefined;
  }, daemon.output);
  if (transport === 'plain') {
    return { daemon, address: address!, transport, kubeconfig: undefined, cliArgs: ['--server', address!], credentials: () => grpc.credentials.createInsecure() };
  }
  const kubeconfig = path.join(dir, 'controller-root', 'admin.kubeconfig');
  return { daemon, address: address!, transport, kubeconfig, cliArgs: ['--kubeconfig', kubeconfig, '--server', address!], credentials: () => kubeconfigCredentials(kubeconfig) };
}

/** A join token from `berth token create`. */
function joinToken(cli: string, kubeconfig: string): string {
  const r = spawnSync(process.execPath, [cli, '--kubeconfig', kubeconfig, 'token', 'create'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`berth token create failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** `token`: undefined for a build that joins without one. */
async function startAgent(cli: string, dir: string, controller: string, token: string | undefined, nodeName: string, host: TestHost, cleanup: Cleanup): Promise<{ daemon: Daemon; socket: string }> {
  const socket = path.join(dir, 'agent.sock');
  const dataRoot = path.join(dir, 'agent-root');
  host.dataRoots.push(dataRoot);
  const daemon = startDaemon('setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, cli, 'agent', '--data-root', dataRoot, '--socket', socket,
    '--run-dir', host.runDir, '--cgroup-parent', host.cgroupParent, '--bridge', host.bridge, '--subnet', host.subnet,
    '--controller', controller, ...(token === undefined ? [] : ['--token', token]), '--node-name', nodeName], { env: { ...process.env, DOCKER_CONFIG: path.join(dir, 'docker-config') } });
  cleanup.teardown(() => daemon.stop(10_000));
  await waitFor('berth agent', () => {
    if (daemon.child.exitCode !== null) throw new Error(`berth agent exited (${daemon.child.exitCode}): ${daemon.output()}`);
    return fs.existsSync(socket);
  }, daemon.output);
  return { daemon, socket };
}

/** Controller, agent (joined as a Ready node), images loaded from `archive`. Everything is undone by `cleanup`. */
export async function startBerthCluster(dir: string, archive: string, cli: string, cleanup: Cleanup, log: (line: string) => void, transport: Transport = 'tls'): Promise<BerthCluster> {
  fs.mkdirSync(dir, { recursive: true });
  // The host's leftovers (containers, monitors, mounts, bridge, cgroups) go after the agent has stopped.
  const host = makeTestHost(cleanup);
  const controller = await startController(cli, dir, cleanup, transport);
  const nodeName = `bench-${randomBytes(3).toString('hex')}`;
  const token = controller.kubeconfig === undefined ? undefined : joinToken(cli, controller.kubeconfig);
  const agent = await startAgent(cli, dir, controller.address, token, nodeName, host, cleanup);
  const runcRoot = path.join(host.runDir, 'runc');

  const { Cluster } = loadClusterApi().berth.cluster.v1;
  const client = new Cluster(controller.address, controller.credentials()) as unknown as ClusterClient;
  const containers: ContainersClient = containersClient(agent.socket);
  cleanup.teardown(() => {
    client.close();
    containers.close();
  });
  // Cluster verbs go to the controller, node verbs to the agent.
  const berth = (...args: string[]) => runCommand(process.execPath, [cli, ...controller.cliArgs, ...args]);
  const node = (...args: string[]) => runCommand(process.execPath, [cli, '--agent', agent.socket, ...args]);

  await node('load', '-i', archive);
  let registered: Node | undefined;
  await waitFor(`node ${nodeName} Ready`, async () => {
    registered = await unary<{ json: string }>((cb) => client.get({ kind: 'Node', namespace: '', name: nodeName }, cb)).then((o) => JSON.parse(o.json) as Node, () => undefined);
    return registered?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  }, () => `${JSON.stringify(registered?.status ?? 'not registered')}; agent: ${agent.daemon.output().slice(-1000)}`, 30_000);
  log(`bench: berth controller ${controller.address} (${transport}, pid ${controller.daemon.pid}), agent ${agent.socket} (pid ${agent.daemon.pid}) is node ${nodeName}; runc root ${runcRoot}, cgroup parent ${host.cgroupParent}`);

  const list = async (all: boolean): Promise<Summary[]> =>
    (await call(containers.List.bind(containers), { all })).containers.map((c) => ({ id: c.id, name: c.name, image: c.image, status: c.status }));
  const deployment = async (name: string) => JSON.parse((await unary<{ json: string }>((cb) => client.get({ kind: 'Deployment', namespace: 'default', name }, cb))).json) as Deployment;
  const pods = async (name: string) => (await unary<{ items: Array<{ json: string }> }>((cb) => client.list({ kind: 'Pod', namespace: 'default', labelSelector: `app=${name}` }, cb))).items.map((i) => JSON.parse(i.json) as Pod);

  /** Where a Deployment stands, for the failure message of a timeout. */
  let last = '';
  /** The Deployment's status says `replicas` available on the current template, its pods are exactly those, the agent runs exactly their containers on `image`, and runc agrees. */
  const converged = async (name: string, replicas: number, image: ImageRef): Promise<boolean> => {
    const d = await deployment(name);
    const s = d.status ?? {};
    last = `deployment generation ${d.metadata.generation} observed ${s.observedGeneration}, replicas ${s.replicas} updated ${s.updatedReplicas} available ${s.availableReplicas}`;
    if ((s.observedGeneration ?? 0) < (d.metadata.generation ?? 0) || s.replicas !== replicas || s.updatedReplicas !== replicas || s.availableReplicas !== replicas) return false;
    const ps = await pods(name);
    const runningPods = ps.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && p.spec.containers[0]?.image === image.ref);
    last += `; pods ${ps.length}, running on ${image.ref} ${runningPods.length}`;
    if (ps.length !== replicas || runningPods.length !== replicas) return false;
    const mine = (await list(true)).filter((c) => isPodContainer(c.name));
    const onImage = mine.filter((c) => c.status === 'running' && c.image === image.ref);
    last += `; agent: ${mine.length} pod containers, ${onImage.length} running ${image.ref}`;
    if (mine.length !== replicas || onImage.length !== replicas) return false;
    const runc = await runcRunning(runcRoot);
    last += `; runc runs ${onImage.filter((c) => runc.has(c.id)).length} of them`;
    return onImage.every((c) => runc.has(c.id));
  };
  const apply = async (doc: Deployment) => {
    const file = path.join(dir, `${doc.metadata.name}.yaml`);
    fs.writeFileSync(file, stringify(doc));
    await berth('apply', '-f', file);
  };
  const noContainers = async (what: string) => {
    let left: Summary[] = [];
    let runc = new Set<string>();
    await waitFor(what, async () => {
      left = await list(true);
      runc = await runcRunning(runcRoot);
      return left.length === 0 && runc.size === 0;
    }, () => `${left.length} container(s) left (${left.slice(0, 5).map((c) => `${c.name} ${c.status}`).join(', ')}), runc runs ${runc.size}`, 120_000, 100);
  };

  const jobStatus = async (name: string) => (JSON.parse((await unary<{ json: string }>((cb) => client.get({ kind: 'Job', namespace: 'default', name }, cb))).json) as Job).status ?? {};

  return {
    address: controller.address,
    pids: { controller: controller.daemon.pid, agent: agent.daemon.pid },
    cgroupParent: host.cgroupParent,
    async create(name, replicas, image, timeoutMs) {
      const doc = deploymentManifest(name, replicas, image.ref);
      const t0 = now();
      await apply(doc);
      await waitFor(`deployment ${name}: ${replicas} replicas running`, () => converged(name, replicas, image), () => last, timeoutMs, POLL_MS);
      return now() - t0;
    },
    async update(name, replicas, to, timeoutMs) {
      const doc = deploymentManifest(name, replicas, to.ref);
      const t0 = now();
      await apply(doc);
      await waitFor(`deployment ${name}: ${replicas} replicas updated to ${to.ref}`, () => converged(name, replicas, to), () => last, timeoutMs, POLL_MS);
      return now() - t0;
    },
    async remove(name) {
      await berth('delete', 'deployment', name);
      let left = 0;
      await waitFor(`deployment ${name}'s pods to go`, async () => (left = (await pods(name)).length) === 0, () => `${left} pod(s) left`, 120_000, 100);
      await noContainers(`deployment ${name}'s containers to go`);
    },
    async job(name, completions, parallelism, image, command, timeoutMs) {
      const doc: Job = {
        apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: 'default' },
        spec: {
          completions, parallelism, backoffLimit: 0,
          template: { spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'task', image: image.ref, imagePullPolicy: 'IfNotPresent', command }] } },
        },
      };
      const file = path.join(dir, `${name}.yaml`);
      fs.writeFileSync(file, stringify(doc));
      const t0 = now();
      await berth('apply', '-f', file);
      let status: Job['status'] = {};
      await waitFor(`job ${name}: ${completions} completions`, async () => {
        status = await jobStatus(name);
        if (status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True')) throw new Error(`job ${name} failed: ${JSON.stringify(status)}`);
        return status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') === true;
      }, () => `succeeded ${status?.succeeded ?? 0}, active ${status?.active ?? 0}, failed ${status?.failed ?? 0}`, timeoutMs, POLL_MS);
      const seconds = now() - t0;
      if (status?.succeeded !== completions) throw new Error(`job ${name}: Complete with ${status?.succeeded} succeeded, not ${completions}`);
      await berth('delete', 'job', name);
      await noContainers(`job ${name}'s containers to go`);
      return seconds;
    },
    async runs(count, image, command) {
      const t0 = now();
      for (let i = 0; i < count; i++) await node('run', '--rm', image.ref, ...command);
      return now() - t0;
    },
    async floor(count, image) {
      const ids: string[] = [];
      const t0 = now();
      for (let i = 0; i < count; i++) ids.push((await node('run', '-d', image.ref, ...REPLICA_COMMAND)).stdout.trim());
      let runc = new Set<string>();
      await waitFor(`${count} containers of berth run -d running`, async () => {
        runc = await runcRunning(runcRoot);
        return ids.every((id) => runc.has(id));
      }, () => `runc runs ${ids.filter((id) => runc.has(id)).length} of ${count}`, 30_000, POLL_MS);
      const seconds = now() - t0;
      await node('rm', '-f', ...ids);
      await noContainers(`the floor's ${count} containers to go`);
      return seconds;
    },
  };
}
