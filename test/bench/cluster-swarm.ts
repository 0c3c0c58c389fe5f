// Docker Swarm for the cluster benchmark: a dockerd of its own (Debian's docker.io: /usr/sbin/dockerd
// and /usr/bin/docker, not any other docker CLI on the PATH), a one-node swarm on it, and services
// created, updated and removed by the docker CLI, timed until the swarm reports the tasks running
// and runc agrees.
//
// What works on this machine, and why each setting:
// - dockerd gets its data root, exec root, pidfile, socket, config file, trust key and cgroup parent
//   in the benchmark's directory; --bridge=none --iptables=false --ip6tables=false keep it off the
//   host's network setup. It starts its own containerd (Debian's containerd package) under the exec
//   root. It still makes /run/docker/plugins, and containerd's shims put their sockets under
//   /run/containerd/s: both are removed afterwards if they were not there before.
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

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { removeCgroupParent, unmountUnder, type Cleanup } from './cleanup';
import { now, POLL_MS, REPLICA_COMMAND, runcRunning, type ImageRef } from './cluster-common';
import { runCommand, startDaemon, waitFor } from './proc';

export const DOCKERD = '/usr/sbin/dockerd';
export const DOCKER = '/usr/bin/docker';
const API = '/v1.41'; // docker 20.10

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

/** One request to dockerd's API on its unix socket; the JSON answer. */
function dockerApi<T>(socket: string, method: string, urlPath: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path: `${API}${urlPath}` }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if ((res.statusCode ?? 500) >= 300) reject(new Error(`docker API ${method} ${urlPath}: ${res.statusCode} ${text.trim()}`));
        else resolve((text ? JSON.parse(text) : undefined) as T);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const filters = (f: Record<string, string[]>) => encodeURIComponent(JSON.stringify(f));

/** Start dockerd in `dir`, load `archive` into it, make it a one-node swarm. Everything is undone by `cleanup`. */
export async function startSwarm(dir: string, archive: string, cleanup: Cleanup, log: (line: string) => void): Promise<Swarm> {
  for (const b of [DOCKERD, DOCKER, '/usr/bin/containerd']) {
    if (!fs.existsSync(b)) throw new Error(`${b} is not installed (Debian packages docker.io and containerd)`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const execRoot = path.join(dir, 'exec');
  const socket = path.join(dir, 'docker.sock');
  const config = path.join(dir, 'daemon.json');
  // The trust key would otherwise go to /etc/docker/key.json (there is no flag for it in 20.10).
  fs.writeFileSync(config, `${JSON.stringify({ 'deprecated-key-path': path.join(dir, 'key.json') })}\n`);
  const cgroupParent = `/berth-bench-docker-${randomBytes(3).toString('hex')}`;
  const before = {
    runDocker: fs.existsSync('/run/docker'),
    runContainerd: fs.existsSync('/run/containerd'),
    gwbridge: fs.existsSync('/sys/class/net/docker_gwbridge'),
  };

  // Undone last: what is left on the host once dockerd has stopped.
  cleanup.teardown(() => {
    for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        // containerd and its shims name the exec root on their command lines.
        if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(execRoot)) process.kill(Number(pid), 'SIGKILL');
      } catch { /* gone */ }
    }
    unmountUnder(dir);
    if (!before.gwbridge) spawnSync('ip', ['link', 'del', 'docker_gwbridge'], { stdio: 'ignore' });
    if (!before.runDocker) fs.rmSync('/run/docker', { recursive: true, force: true });
    // Only if empty: another containerd's shims may be using it meanwhile.
    if (!before.runContainerd) for (const d of ['/run/containerd/s', '/run/containerd']) try { fs.rmdirSync(d); } catch { /* in use or gone */ }
    removeCgroupParent(cgroupParent);
  });

  // setpriv: dockerd dies with the bench even if the bench is killed before its cleanup.
  const daemon = startDaemon('setpriv', ['--pdeathsig', 'KILL', '--', DOCKERD,
    '--data-root', path.join(dir, 'data'), '--exec-root', execRoot, '--pidfile', path.join(dir, 'docker.pid'),
    '-H', `unix://${socket}`, '--config-file', config,
    '--cgroup-parent', cgroupParent, '--bridge=none', '--iptables=false', '--ip6tables=false', '--log-level', 'warn']);
  cleanup.teardown(() => daemon.stop(20_000));
  const api = <T>(method: string, urlPath: string) => dockerApi<T>(socket, method, urlPath);
  await waitFor('dockerd', async () => {
    if (daemon.child.exitCode !== null) throw new Error(`dockerd exited (${daemon.child.exitCode}): ${daemon.output().slice(-2000)}`);
    return fs.existsSync(socket) && (await api<{ Version: string }>('GET', '/version').then(() => true, () => false));
  }, daemon.output, 60_000);

  const env = { ...process.env, DOCKER_CONFIG: path.join(dir, 'cli-config') };
  const docker = (...args: string[]) => runCommand(DOCKER, ['-H', `unix://${socket}`, ...args], { env });
  const version = (await api<{ Version: string }>('GET', '/version')).Version;
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
  const runcRoot = path.join(execRoot, 'runtime-runc', 'moby');
  log(`bench: dockerd ${version} (pid ${daemon.pid}) on ${socket}; swarm initialised; runc root ${runcRoot}`);

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
