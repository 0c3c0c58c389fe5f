// One process run to completion in a root filesystem someone else mounted: what a build's RUN
// step needs of the runtime. No record, no monitor, no restart: runc runs in the foreground as a
// child of the agent, its output comes back through pipes, and when it ends runc has removed the
// container and its cgroup. Confined as any container is (namespaces, the default seccomp
// profile, the default capabilities, the masked /proc paths).
//
// The ids share a prefix and a runc root of their own, so an agent that died mid-build finds its
// leftovers and clears them (clearOneShots) without touching the containers it supervises.

import { spawn, spawnSync } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { ImageConfig } from '../oci';
import { writeEtcFiles } from './etc-files';
import type { PipeIo } from './runc';
import { runWithPipes } from './runc';
import type { SecurityConfig } from './seccomp';
import { buildSpec, DEFAULT_SECURITY, type VolumeMount } from './spec';

export interface OneShotRuntime {
  runc: string;
  /** runc's --root for one-shot containers, apart from the supervised containers'. */
  root: string;
  cgroupParent: string;
  nofile: { soft: number; hard: number };
  apparmorProfile?: string;
}

export interface OneShot {
  /** [a-zA-Z0-9_-], unique among running one-shots. */
  id: string;
  /** A directory of the caller's for the bundle and the /etc files; removed by the caller. */
  dir: string;
  /** The mounted root filesystem. */
  rootfs: string;
  /** The process: argv, env, cwd and user as the image config's fields spell them. */
  args: string[];
  env: string[];
  workdir: string;
  user?: string;
  /** The root filesystem's /etc/passwd and /etc/group, for the user lookup. */
  passwd?: string;
  group?: string;
  hostname: string;
  /** A network namespace to join; undefined: a new one with only loopback. */
  netns?: string;
  volumes?: VolumeMount[];
  security?: SecurityConfig;
}

/** Run `shot` to its end; resolves to its exit code (128+n for a signal). */
export async function runOnce(runtime: OneShotRuntime, shot: OneShot, io: PipeIo): Promise<number> {
  const bundle = path.join(shot.dir, 'bundle');
  await mkdir(bundle, { recursive: true });
  const etcFiles = await writeEtcFiles(shot.dir, { hostname: shot.hostname }, undefined, false);
  const image: NonNullable<ImageConfig['config']> = { Env: [], WorkingDir: shot.workdir };
  const spec = buildSpec({
    image,
    entrypoint: shot.args.slice(0, 1),
    cmd: shot.args.slice(1),
    env: shot.env,
    workdir: shot.workdir,
    ...(shot.user ? { user: shot.user } : {}),
    hostname: shot.hostname,
    rootfs: shot.rootfs,
    ...(shot.passwd !== undefined ? { passwd: shot.passwd } : {}),
    ...(shot.group !== undefined ? { group: shot.group } : {}),
    etcFiles,
    ...(shot.volumes ? { volumes: shot.volumes } : {}),
    ...(shot.netns ? { netns: shot.netns } : {}),
    cgroupsPath: `${runtime.cgroupParent}/${shot.id}`,
    nofile: runtime.nofile,
    security: { ...(shot.security ?? DEFAULT_SECURITY), ...(runtime.apparmorProfile ? { apparmorProfile: runtime.apparmorProfile } : {}) },
  });
  await writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));
  await mkdir(runtime.root, { recursive: true, mode: 0o700 });
  try {
    return await runWithPipes(runtime.runc, ['--root', runtime.root, 'run', '--bundle', bundle, shot.id], io);
  } finally {
    // A run killed before runc could clean up leaves its state (runc run removes it when the
    // process ends), so delete only what is there: a runc process less per build step.
    // Not spawnSync: the agent's event loop serves pods meanwhile.
    if (await stat(path.join(runtime.root, shot.id)).then(() => true, () => false)) await new Promise<void>((resolve) => {
      const del = spawn(runtime.runc, ['--root', runtime.root, 'delete', '--force', shot.id], { stdio: 'ignore' });
      del.on('error', () => resolve());
      del.on('close', () => resolve());
    });
  }
}

/** Remove what one-shots of an earlier agent left in runc's root (their processes included). */
export async function clearOneShots(runtime: OneShotRuntime): Promise<void> {
  const listed = spawnSync(runtime.runc, ['--root', runtime.root, 'list', '--quiet'], { encoding: 'utf8' });
  for (const id of (listed.stdout ?? '').split('\n').filter(Boolean)) {
    spawnSync(runtime.runc, ['--root', runtime.root, 'delete', '--force', id], { stdio: 'ignore' });
  }
  await rm(runtime.root, { recursive: true, force: true }).catch(() => undefined);
}
