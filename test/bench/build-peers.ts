// The builders the build suite measures, each behind one small interface: berth build on a real
// agent of its own; Docker's BuildKit and its classic builder, both in one dockerd of the bench's
// own (dockerd.ts); buildah with a storage, configuration and runc root of its own. Each gets the
// base image from the bench's registry on 127.0.0.1 before anything is timed, and builds with
// --network none (nothing a RUN does needs a network, and no builder then plumbs one).
//
// Cold means every cache emptied: berth `builder prune` and every image but the base removed;
// dockerd's BuildKit cache pruned (`docker builder prune -af`, which drops its copies of earlier
// contexts too) and every image but the base removed (the classic builder's cache is its
// intermediate images); buildah's working containers and every image but the base removed (with
// --layers its cache is its intermediate images). Each reset checks that it worked.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Cleanup } from './cleanup';
import { makeTestHost } from '../fixtures/agent';
import { startDockerd, type Dockerd } from './dockerd';
import { runCommand, startDaemon, waitFor, type CommandResult } from './proc';

export type PeerName = 'berth' | 'buildkit' | 'classic' | 'buildah';
export const PEERS: PeerName[] = ['berth', 'buildkit', 'classic', 'buildah'];
export const PEER_LABELS: Record<PeerName, string> = {
  berth: 'berth build',
  buildkit: 'docker build, BuildKit',
  classic: 'docker build, classic builder',
  buildah: 'buildah bud --layers',
};

export interface BuildPeer {
  name: PeerName;
  /** The builder's version, for the report. */
  version: string;
  /** Build the Dockerfile in `context` into the image `tag`; the CLI's result (its wall time in `seconds`). */
  build(context: string, tag: string): Promise<CommandResult>;
  /** The text of /app/report in the image `tag` (what the suite checks the image by). */
  report(tag: string): Promise<string>;
  /** Empty every cache and remove every image but the base, so that the next build is cold. */
  reset(): Promise<void>;
}

export interface PeerSetup {
  /** A directory of this peer's own (data roots, sockets, configuration). */
  dir: string;
  /** The base image, HOST:PORT/REPO:TAG on the bench's registry. */
  base: string;
  cleanup: Cleanup;
  log: (line: string) => void;
}

const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean);

// ---- berth --------------------------------------------------------------------------------------

/**
 * A berth agent of its own (run dir, cgroup parent, bridge and subnet from the test fixtures, all
 * removed at the end), driven by the CLI in `cli` as a user would. `nodeFlags` go to the agent's
 * node (e.g. --cpu-prof); it is stopped with SIGTERM, so that a profile gets written.
 */
export async function startBerth(s: PeerSetup, cli: string, nodeFlags: string[] = []): Promise<BuildPeer & { stop(): Promise<void>; pid: number }> {
  fs.mkdirSync(s.dir, { recursive: true });
  const host = makeTestHost(s.cleanup);
  const dataRoot = path.join(s.dir, 'data');
  host.dataRoots.push(dataRoot);
  const socket = path.join(s.dir, 'agent.sock');
  const agent = startDaemon('setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, ...nodeFlags, cli, 'agent', '--data-root', dataRoot, '--socket', socket,
    '--run-dir', host.runDir, '--cgroup-parent', host.cgroupParent, '--bridge', host.bridge, '--subnet', host.subnet],
  { env: { ...process.env, DOCKER_CONFIG: path.join(s.dir, 'docker-config') } });
  s.cleanup.teardown(() => agent.stop(10_000));
  await waitFor('berth agent', () => {
    if (agent.child.exitCode !== null) throw new Error(`berth agent exited (${agent.child.exitCode}): ${agent.output()}`);
    return fs.existsSync(socket);
  }, agent.output);
  const berth = (...args: string[]) => runCommand(process.execPath, [cli, '--agent', socket, ...args]);
  await berth('pull', s.base);
  const baseId = lines((await berth('images', '-q', '--no-trunc', s.base)).stdout)[0];
  const version = lines((await berth('version')).stdout).find((l) => /version/i.test(l))?.replace(/^.*version:\s*/i, '') ?? '?';
  s.log(`bench: berth agent (pid ${agent.pid}) on ${socket}, base ${s.base} pulled`);
  return {
    name: 'berth',
    version: `berth ${version}`,
    pid: agent.pid,
    stop: () => agent.stop(30_000),
    build: (context, tag) => berth('build', '--progress=plain', '--network', 'none', '-t', tag, context),
    report: async (tag) => (await berth('run', '--rm', '--network', 'none', tag)).stdout,
    async reset() {
      await berth('builder', 'prune', '-a', '-f');
      const others = lines((await berth('images', '-a', '-q', '--no-trunc')).stdout).filter((id) => id !== baseId);
      if (others.length) await berth('rmi', '-f', ...others);
      const du = (await berth('builder', 'du')).stdout;
      const left = lines((await berth('images', '-a', '-q', '--no-trunc')).stdout);
      if (!/entries: 0\b/.test(du) || left.length !== 1) throw new Error(`berth reset: the build cache says "${du.trim()}", images left: ${left.join(' ')}`);
    },
  };
}

// ---- Docker: BuildKit and the classic builder ---------------------------------------------------

/** Both of dockerd's builders, on one dockerd of the bench's own. */
export async function startDocker(s: PeerSetup): Promise<[BuildPeer, BuildPeer]> {
  const d: Dockerd = await startDockerd(s.dir, s.cleanup);
  // A registry on 127.0.0.0/8 is plain HTTP for dockerd without --insecure-registry.
  await d.docker(['pull', '-q', s.base]);
  const baseId = (await d.api<{ Id: string }>('GET', `/images/${encodeURIComponent(s.base)}/json`)).Id;
  s.log(`bench: dockerd ${d.version} (pid ${d.pid}) on ${d.socket}, base ${s.base} pulled`);
  const reset = async () => {
    // Removing the built images takes their untagged parents with them; a few passes for the rest.
    let left: string[] = [];
    for (let pass = 0; pass < 5; pass++) {
      left = lines((await d.docker(['image', 'ls', '-a', '-q', '--no-trunc'])).stdout).filter((id) => id !== baseId);
      if (left.length === 0) break;
      await d.docker(['image', 'rm', '-f', ...left]).catch(() => undefined);
    }
    await d.docker(['container', 'prune', '-f']);
    await d.docker(['builder', 'prune', '-a', '-f']);
    const df = await d.api<{ BuildCache: unknown[] | null }>('GET', '/system/df');
    if (left.length || (df.BuildCache ?? []).length) throw new Error(`docker reset: ${left.length} image(s) and ${(df.BuildCache ?? []).length} build cache record(s) left`);
  };
  const peer = (name: PeerName, buildkit: boolean): BuildPeer => ({
    name,
    version: `docker ${d.version}`,
    build: (context, tag) => d.docker(['build', ...(buildkit ? ['--progress=plain'] : []), '--network', 'none', '-t', tag, context], { DOCKER_BUILDKIT: buildkit ? '1' : '0' }),
    report: async (tag) => (await d.docker(['run', '--rm', '--network', 'none', tag])).stdout,
    reset,
  });
  return [peer('buildkit', true), peer('classic', false)];
}

// ---- buildah ------------------------------------------------------------------------------------

/**
 * buildah with everything of its own under `dir`: storage (overlay), runroot, registries (the
 * bench's registry as insecure), containers.conf (cgroupfs: no systemd here), signature policy,
 * TMPDIR, and runc's state root. It also updates containers/image's blob info cache in
 * /var/lib/containers/cache whatever it is told: that file is put back as it was at the end.
 */
export async function startBuildah(s: PeerSetup, registryHost: string): Promise<BuildPeer> {
  if (!fs.existsSync('/usr/bin/buildah')) throw new Error('/usr/bin/buildah is not installed (Debian package buildah)');
  fs.mkdirSync(s.dir, { recursive: true });
  const file = (name: string, text: string) => {
    const p = path.join(s.dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const storage = path.join(s.dir, 'storage');
  const runRoot = path.join(s.dir, 'run');
  const tmp = path.join(s.dir, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  const env = {
    ...process.env,
    CONTAINERS_STORAGE_CONF: file('storage.conf', `[storage]\ndriver = "overlay"\nrunroot = "${runRoot}"\ngraphroot = "${storage}"\n`),
    CONTAINERS_CONF: file('containers.conf', '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'),
    CONTAINERS_REGISTRIES_CONF: file('registries.conf', `[[registry]]\nlocation = "${registryHost}"\ninsecure = true\n`),
    TMPDIR: tmp,
  };
  const policy = file('policy.json', JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const runcRoot = path.join(s.dir, 'runc');

  const blobCache = '/var/lib/containers/cache/blob-info-cache-v1.boltdb';
  const saved = fs.existsSync(blobCache) ? { bytes: fs.readFileSync(blobCache), stat: fs.statSync(blobCache) } : undefined;
  const createdDirs = ['/var/lib/containers', '/var/lib/containers/cache'].filter((d) => !fs.existsSync(d));
  s.cleanup.teardown(() => {
    if (saved) {
      fs.writeFileSync(blobCache, saved.bytes);
      fs.utimesSync(blobCache, saved.stat.atime, saved.stat.mtime);
    } else fs.rmSync(blobCache, { force: true });
    for (const d of createdDirs.reverse()) try { fs.rmdirSync(d); } catch { /* not empty or gone */ }
  });
  const buildah = (...args: string[]) => runCommand('/usr/bin/buildah', args, { env });
  // Its working containers (and their mounts) go before the directory does.
  s.cleanup.teardown(() => buildah('rm', '--all').catch(() => undefined));

  await buildah('pull', '-q', '--signature-policy', policy, s.base);
  const baseId = lines((await buildah('images', '-q', '--no-trunc', s.base)).stdout)[0]!.replace(/^sha256:/, '');
  const version = lines((await buildah('version')).stdout).find((l) => l.startsWith('Version:'))?.replace(/^Version:\s*/, '') ?? '?';
  s.log(`bench: buildah ${version}, storage ${storage}, base ${s.base} pulled`);
  const images = async () => lines((await buildah('images', '-a', '-q', '--no-trunc')).stdout).map((id) => id.replace(/^sha256:/, ''));
  return {
    name: 'buildah',
    version: `buildah ${version}`,
    build: (context, tag) => buildah('bud', '--layers', '--pull=false', '--signature-policy', policy, '--network', 'none', '--isolation', 'oci',
      '--runtime-flag', `root=${runcRoot}`, '-t', tag, context),
    async report(tag) {
      const name = lines((await buildah('from', '--pull=false', '--signature-policy', policy, tag)).stdout).at(-1)!;
      try {
        const root = lines((await buildah('mount', name)).stdout)[0]!;
        return fs.readFileSync(path.join(root, 'app', 'report'), 'utf8');
      } finally {
        await buildah('rm', name);
      }
    },
    async reset() {
      await buildah('rm', '--all');
      let left: string[] = [];
      for (let pass = 0; pass < 5; pass++) {
        left = (await images()).filter((id) => id !== baseId);
        if (left.length === 0) break;
        await buildah('rmi', '--force', ...left).catch(() => undefined);
      }
      if (left.length) throw new Error(`buildah reset: ${left.length} image(s) left`);
    },
  };
}
