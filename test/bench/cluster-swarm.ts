// Docker Swarm for the cluster benchmark: a dockerd of its own (dockerd.ts), a one-node swarm on it,
// and services created, updated and removed by the docker CLI, timed until the swarm reports the
// tasks running and runc agrees.
//
// How dockerd is started, and what is removed after it: dockerd.ts. Here:
// - `docker swarm init --advertise-addr 127.0.0.1` creates the ingress overlay (a namespace under
//   the exec root) and the docker_gwbridge bridge on the host; leaving the swarm and removing that
//   network undoes both. With --bridge=none a service created without --network gets tasks in a
//   network namespace of their own with only loopback (`--network none` is refused for services,
//   and `--network host` would share the host's): cheaper than berth's pods, which get a veth on a
//   bridge and an address from CNI. So Swarm's numbers here include no network plumbing.
// - --no-resolve-image: otherwise the CLI first asks Docker Hub for the image's digest.
// - Swarm's update defaults (docker service inspect): parallelism 1, delay 0, monitor 5 s,
//   order stop-first, failure action pause.
// - Seen here (2 cores): a service of 50 starts its tasks in bursts of about 16, some 4.5 s apart
//   (task status timestamps), so N=50 takes far longer than five times N=10.

import * as path from 'node:path';
import type { Cleanup } from './cleanup';
import { now, POLL_MS, REPLICA_COMMAND, runcRunning, type ImageRef } from './cluster-common';
import { startDockerd } from './dockerd';
import { waitFor } from './proc';

export interface Swarm {
  /** dockerd's version. */
  version: string;
  /** Seconds from `docker service create --replicas N` until N tasks run `image`. */
  create(name: string, replicas: number, image: ImageRef, timeoutMs: number): Promise<number>;
  /** Seconds from `docker service update --image` until every task runs `to` and no container of another image runs. */
  update(name: string, replicas: number, to: ImageRef, timeoutMs: number, parallelism?: number): Promise<number>;
  /** `docker service rm`, then wait until none of its containers is left (not timed). */
  remove(name: string): Promise<void>;
}

interface Task {
  ID: string;
  Spec: { ContainerSpec: { Image: string } };
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

interface ContainerSummary {
  Id: string;
  ImageID: string;
  State: string;
}

const filters = (f: Record<string, string[]>) => encodeURIComponent(JSON.stringify(f));

/** Start dockerd in `dir`, load `archive` into it, make it a one-node swarm. Everything is undone by `cleanup`. */
export async function startSwarm(dir: string, archive: string, cleanup: Cleanup, log: (line: string) => void): Promise<Swarm> {
  const d = await startDockerd(dir, cleanup);
  const { api, version } = d;
  const docker = (...args: string[]) => d.docker(args);
  await docker('load', '-q', '-i', archive);
  await docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
  cleanup.teardown(async () => {
    try {
      await docker('swarm', 'leave', '--force');
    } catch (err) {
      process.stderr.write(`bench cleanup: docker swarm leave: ${(err as Error).message}\n`);
    }
    await docker('network', 'rm', 'docker_gwbridge').catch(() => undefined);
  });
  // Under the exec root, for the shim v2 runtime: runtime-<name>/<containerd namespace>.
  const runcRoot = path.join(d.execRoot, 'runtime-runc', 'moby');
  log(`bench: dockerd ${version} (pid ${d.pid}) on ${d.socket}; swarm initialised; runc root ${runcRoot}`);

  const tasksOf = (name: string) => api<Task[]>('GET', `/tasks?filters=${filters({ service: [name], 'desired-state': ['running'] })}`);
  const containersOf = (name: string, all = false) => api<ContainerSummary[]>('GET', `/containers/json?all=${all ? 1 : 0}&filters=${filters({ label: [`com.docker.swarm.service.name=${name}`] })}`);

  /** N tasks running `image` (the swarm's view), N containers of it running and none of another (dockerd's), and runc agrees. */
  const converged = async (name: string, replicas: number, image: ImageRef): Promise<boolean> => {
    const tasks = await tasksOf(name);
    if (tasks.length !== replicas || !tasks.every((t) => t.Status.State === 'running' && t.Spec.ContainerSpec.Image === image.ref)) return false;
    const running = (await containersOf(name)).filter((c) => c.State === 'running');
    if (running.length !== replicas || !running.every((c) => c.ImageID === image.id)) return false;
    const runc = await runcRunning(runcRoot);
    return running.every((c) => runc.has(c.Id));
  };
  const describe = (name: string) => async () => {
    const tasks = await tasksOf(name).catch(() => [] as Task[]);
    const states = new Map<string, number>();
    for (const t of tasks) states.set(`${t.Status.State} ${t.Spec.ContainerSpec.Image}`, (states.get(`${t.Status.State} ${t.Spec.ContainerSpec.Image}`) ?? 0) + 1);
    const errs = tasks.map((t) => t.Status.Err).filter(Boolean).slice(0, 3);
    return `tasks: ${[...states].map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}${errs.length ? `; errors: ${errs.join('; ')}` : ''}`;
  };
  const converge = async (what: string, name: string, replicas: number, image: ImageRef, timeoutMs: number) => {
    let last = '';
    const d = describe(name);
    await waitFor(what, async () => {
      if (await converged(name, replicas, image)) return true;
      last = await d();
      return false;
    }, () => last, timeoutMs, POLL_MS);
  };

  return {
    version,
    async create(name, replicas, image, timeoutMs) {
      const t0 = now();
      await docker('service', 'create', '-d', '-q', '--no-resolve-image', '--name', name, '--replicas', String(replicas), image.ref, ...REPLICA_COMMAND);
      await converge(`swarm service ${name}: ${replicas} tasks running`, name, replicas, image, timeoutMs);
      return now() - t0;
    },
    async update(name, replicas, to, timeoutMs, parallelism) {
      const t0 = now();
      await docker('service', 'update', '-d', '-q', '--no-resolve-image', '--image', to.ref, ...(parallelism ? ['--update-parallelism', String(parallelism)] : []), name);
      await converge(`swarm service ${name}: ${replicas} tasks updated to ${to.ref}`, name, replicas, to, timeoutMs);
      return now() - t0;
    },
    async remove(name) {
      await docker('service', 'rm', name);
      let left = 0;
      await waitFor(`swarm service ${name}'s containers to be removed`, async () => (left = (await containersOf(name, true)).length) === 0,
        () => `${left} container(s) left`, 120_000, 100);
    },
  };
}
