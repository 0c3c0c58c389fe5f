// A dockerd of the benchmark's own (Debian's docker.io: /usr/sbin/dockerd and /usr/bin/docker, not
// any other docker CLI on the PATH), for the suites that measure Docker beside berth.
//
// What works on this machine, and why each setting:
// - dockerd gets its data root, exec root, pidfile, socket, config file, trust key and cgroup parent
//   in the benchmark's directory; --bridge=none --iptables=false --ip6tables=false keep it off the
//   host's network setup. It starts its own containerd (Debian's containerd package) under the exec
//   root. It still makes /run/docker/plugins, and containerd's shims put their sockets under
//   /run/containerd/s, and BuildKit's RUN steps leave runc's default root /run/runc: each is removed
//   afterwards if it was not there before (and is empty), as is the docker_gwbridge a swarm makes.
// - setpriv --pdeathsig: dockerd dies with the bench even if the bench is killed before its cleanup.
// - The CLI gets a config directory of its own (DOCKER_CONFIG), so ~/.docker is not touched.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { removeCgroupParent, unmountUnder, type Cleanup } from './cleanup';
import { runCommand, startDaemon, waitFor, type CommandResult } from './proc';

export const DOCKERD = '/usr/sbin/dockerd';
export const DOCKER = '/usr/bin/docker';
const API = '/v1.41'; // docker 20.10

export interface Dockerd {
  /** dockerd's version. */
  version: string;
  pid: number;
  socket: string;
  execRoot: string;
  /** /usr/bin/docker against this daemon; `env` is added to the CLI's environment. */
  docker(args: string[], env?: Record<string, string>): Promise<CommandResult>;
  /** One request to the daemon's API; the JSON answer. */
  api<T>(method: string, urlPath: string): Promise<T>;
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

/** Start dockerd with everything under `dir`; stopping it and removing what it left is registered with `cleanup`. */
export async function startDockerd(dir: string, cleanup: Cleanup): Promise<Dockerd> {
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
    runRunc: fs.existsSync('/run/runc'),
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
    // BuildKit's RUN steps leave runc's default root behind (empty once they are gone).
    if (!before.runRunc) try { fs.rmdirSync('/run/runc'); } catch { /* in use or gone */ }
    removeCgroupParent(cgroupParent);
  });

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

  const cliEnv = { ...process.env, DOCKER_CONFIG: path.join(dir, 'cli-config') };
  return {
    version: (await api<{ Version: string }>('GET', '/version')).Version,
    pid: daemon.pid,
    socket,
    execRoot,
    docker: (args, env = {}) => runCommand(DOCKER, ['-H', `unix://${socket}`, ...args], { env: { ...cliEnv, ...env } }),
    api,
  };
}
