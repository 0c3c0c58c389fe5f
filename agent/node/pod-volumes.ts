// A pod's volumes on the host, as the kubelet lays them out: each under the pod's directory
// (<data root>/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>), made before the first container
// and removed after the last.
//
//   emptyDir            a directory on the agent's disk, or a tmpfs (medium Memory) of sizeLimit
//   configMap, downwardAPI
//                       files on disk, written by the atomic writer
//   secret, projected   the same files on a tmpfs of their own: a Secret never reaches the disk
//   hostPath            the host's path, checked against its type (created for ...OrCreate)
//   persistentVolumeClaim, ephemeral (the claim made for the pod)
//                       the directory of the volume the claim is bound to (a hostPath or local
//                       volume: a local-path one is made on first use), bind-mounted onto the
//                       pod's kubernetes.io~local-volume/<name>
//
// A container's mounts bind these read-write, or read-only when asked (the object volumes always).
// A subPath is resolved inside its volume as a chroot would resolve it (symlinks stay inside) and
// the object found is bind-mounted by descriptor onto the pod's volume-subpaths directory, so a
// container that swaps a directory for a symlink between the check and the mount cannot make
// another container mount the host. Projected files are refreshed while the pod runs (refresh()).
//
// Nothing is kept in memory: after an agent restart the directories and mounts are found again.

import { existsSync, fstatSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseMemory, volumeClaimName, type Container, type PersistentVolume, type Pod, type Volume } from '../../proto/resources';
import { berthFs, toBytePath } from '../native';
import type { VolumeMount } from '../runtime';
import { writeAtomically } from './atomic-writer';
import type { HostMounts } from './host-mounts';
import { expand, type ConfigLookup, type PodFacts } from './pod-env';
import { volumeFiles } from './volume-files';

type Kind = 'emptyDir' | 'hostPath' | 'configMap' | 'secret' | 'downwardAPI' | 'projected' | 'persistentVolumeClaim';

/** The kubelet's plugin directory names, so a user who knows one layout finds the other. */
const PLUGIN_DIR: Record<Exclude<Kind, 'hostPath'>, string> = {
  emptyDir: 'kubernetes.io~empty-dir',
  persistentVolumeClaim: 'kubernetes.io~local-volume',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
};

/** Volumes whose content the agent writes from objects: refreshed while the pod runs, always mounted read-only. */
const OBJECT_KINDS = new Set<Kind>(['configMap', 'secret', 'downwardAPI', 'projected']);

/** Recursive read-only mounts need mount_setattr (Linux 5.12); IfPossible falls back to a plain read-only one before. */
const RECURSIVE_READ_ONLY = ((): boolean => {
  const [major = 0, minor = 0] = os.release().split('.').map((n) => parseInt(n, 10));
  return major > 5 || (major === 5 && minor >= 12);
})();

/** A volume with no source is an emptyDir (Kubernetes' defaulting). */
export function volumeKind(v: Volume): Kind {
  for (const kind of ['hostPath', 'configMap', 'secret', 'downwardAPI', 'projected', 'persistentVolumeClaim'] as const) {
    if (v[kind] !== undefined) return kind;
  }
  // A generic ephemeral volume is the claim made for the pod, mounted as any claim is.
  if (v.ephemeral !== undefined) return 'persistentVolumeClaim';
  return 'emptyDir';
}

/** True when the pod has volumes whose files follow their objects (the worker refreshes them). */
export const hasObjectVolumes = (pod: Pod): boolean => (pod.spec.volumes ?? []).some((v) => OBJECT_KINDS.has(volumeKind(v)));

export type SetUpResult = { ok: true } | { ok: false; volume: string; message: string };
export type MountsResult = { ok: true; mounts: VolumeMount[] } | { ok: false; message: string };

export interface PodVolumesDeps {
  /** <agent data root>/pods: one directory per pod uid. */
  root: string;
  mounts: HostMounts;
  /** Told the reclaim policy of each persistent volume mounted (the local volumes keep it for their sweep). */
  noteVolume?: (pv: PersistentVolume) => void;
}

export class PodVolumes {
  /** Per pod, the work under way: a pod's containers are created at once, and each would set the volumes up. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly d: PodVolumesDeps) {}

  podDir(uid: string): string {
    return path.join(this.d.root, uid);
  }

  /** Whether anything of the pod is left on disk (volumes, subpaths, its token). */
  exists(uid: string): boolean {
    return existsSync(this.podDir(uid));
  }

  /** Every volume of the pod made and (object volumes) written now; idempotent. The first that cannot be is named. */
  setUp(pod: Pod, lookup: ConfigLookup, facts: PodFacts): Promise<SetUpResult> {
    return this.serialized(pod.metadata.uid ?? '', () => this.setUpAll(pod, lookup, facts));
  }

  private async setUpAll(pod: Pod, lookup: ConfigLookup, facts: PodFacts): Promise<SetUpResult> {
    for (const volume of pod.spec.volumes ?? []) {
      try {
        const problem = await this.setUpOne(pod, volume, lookup, facts);
        if (problem) return { ok: false, volume: volume.name, message: problem };
      } catch (err) {
        return { ok: false, volume: volume.name, message: (err as Error).message };
      }
    }
    return { ok: true };
  }

  /** The object volumes already made rewritten from the objects now (a changed ConfigMap reaches a running pod); true if any changed. */
  refresh(pod: Pod, lookup: ConfigLookup, facts: PodFacts): Promise<boolean> {
    return this.serialized(pod.metadata.uid ?? '', () => this.refreshAll(pod, lookup, facts));
  }

  private async refreshAll(pod: Pod, lookup: ConfigLookup, facts: PodFacts): Promise<boolean> {
    let changed = false;
    for (const volume of pod.spec.volumes ?? []) {
      const kind = volumeKind(volume);
      if (!OBJECT_KINDS.has(kind)) continue;
      const dir = this.volumeDir(pod, volume);
      if (!existsSync(path.join(dir, '..data'))) continue;
      const files = volumeFiles(pod, volume, lookup, facts);
      // As the kubelet: a volume that cannot be made now keeps what it had.
      if (!files?.ok) continue;
      if (await writeAtomically(dir, files.files, this.owner(pod))) changed = true;
    }
    return changed;
  }

  /**
   * The container's volumeMounts as bind mounts; `env` expands subPathExpr. Call after setUp, and
   * again before a container with a subPath starts again: a subPath bound to a file its
   * ConfigMap's update replaced is bound anew (the old one could not be mounted any more).
   */
  containerMounts(pod: Pod, container: Container, env: ReadonlyMap<string, string>): Promise<MountsResult> {
    return this.serialized(pod.metadata.uid ?? '', () => this.mountsOf(pod, container, env));
  }

  private async mountsOf(pod: Pod, container: Container, env: ReadonlyMap<string, string>): Promise<MountsResult> {
    const mounts: VolumeMount[] = [];
    for (const [index, m] of (container.volumeMounts ?? []).entries()) {
      const volume = pod.spec.volumes?.find((v) => v.name === m.name);
      if (!volume) return { ok: false, message: `volumeMount ${JSON.stringify(m.name)}: the pod has no volume of that name` };
      if (m.mountPropagation && m.mountPropagation !== 'None') {
        return { ok: false, message: `volumeMount ${JSON.stringify(m.name)}: mountPropagation ${m.mountPropagation} is not supported by this node (only None)` };
      }
      const kind = volumeKind(volume);
      let source = kind === 'hostPath' ? volume.hostPath!.path : this.volumeDir(pod, volume);
      const subPath = m.subPathExpr !== undefined ? expand(m.subPathExpr, env) : m.subPath;
      if (subPath) {
        if (subPath.startsWith('/') || subPath.split('/').includes('..')) {
          return { ok: false, message: `volumeMount ${JSON.stringify(m.name)}: subPath ${JSON.stringify(subPath)} must be a relative path without '..'` };
        }
        source = await this.subPathSource(pod, container.name, index, m.name, source, subPath);
      }
      const readonly = Boolean(m.readOnly) || OBJECT_KINDS.has(kind) || volume.persistentVolumeClaim?.readOnly === true || volume.ephemeral?.readOnly === true;
      const recursive = readonly && (m.recursiveReadOnly === 'Enabled' || (m.recursiveReadOnly === 'IfPossible' && RECURSIVE_READ_ONLY));
      mounts.push({ source, destination: m.mountPath, readonly, ...(recursive ? { recursiveReadonly: true } : {}) });
    }
    return { ok: true, mounts };
  }

  /** Everything of the pod's on disk gone: its mounts first (never a recursive delete through one), then its directory. */
  tearDown(uid: string): Promise<void> {
    return this.serialized(uid, () => this.removeAll(uid));
  }

  private async removeAll(uid: string): Promise<void> {
    const dir = this.podDir(uid);
    this.d.mounts.unmountUnder(dir);
    // A recursive delete through a bind mount would delete what it shows (a hostPath's files).
    const left = this.d.mounts.mountsUnder(dir);
    if (left.length > 0) throw new Error(`cannot remove the pod's directory: ${left.join(', ')} still mounted`);
    await fs.rm(dir, { recursive: true, force: true });
  }

  /** fn after whatever is under way for the pod, failed or not. */
  private serialized<T>(uid: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(uid) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(uid, tail);
    void tail.then(() => {
      if (this.queues.get(uid) === tail) this.queues.delete(uid);
    });
    return run;
  }

  // ---- one volume ----------------------------------------------------------------------------

  /** The directory of a volume the pod has on this node's disk (not a hostPath's). */
  volumeDir(pod: Pod, volume: Volume): string {
    const kind = volumeKind(volume);
    if (kind === 'hostPath') throw new Error(`volume ${volume.name}: ${kind} has no directory of the pod's`);
    return path.join(this.podDir(pod.metadata.uid ?? ''), 'volumes', PLUGIN_DIR[kind], volume.name);
  }

  /** The group that owns the pod's volumes: its fsGroup, if it has one. */
  private owner(pod: Pod): { uid: number; gid: number } | undefined {
    const gid = pod.spec.securityContext?.fsGroup;
    return gid === undefined ? undefined : { uid: 0, gid };
  }

  private async setUpOne(pod: Pod, volume: Volume, lookup: ConfigLookup, facts: PodFacts): Promise<string | undefined> {
    const kind = volumeKind(volume);
    const fsGroup = pod.spec.securityContext?.fsGroup;
    switch (kind) {
      case 'persistentVolumeClaim':
        return this.setUpClaim(pod, volume, lookup);
      case 'hostPath':
        return hostPathProblem(volume.hostPath!.path, volume.hostPath!.type ?? '');
      case 'emptyDir': {
        const dir = this.volumeDir(pod, volume);
        await fs.mkdir(dir, { recursive: true });
        const memory = volume.emptyDir?.medium === 'Memory';
        if (memory && !this.d.mounts.isMountPoint(dir)) {
          const sizeBytes = memoryVolumeSize(pod, volume);
          await this.d.mounts.mountTmpfs(dir, { mode: 0o777, ...(sizeBytes !== undefined ? { sizeBytes } : {}) });
        }
        // World-writable as the kubelet makes it; with an fsGroup, owned by it and setgid so new files are too.
        if (fsGroup !== undefined) await fs.chown(dir, 0, fsGroup);
        await fs.chmod(dir, fsGroup !== undefined ? 0o2777 : 0o777);
        return undefined;
      }
      default: {
        const files = volumeFiles(pod, volume, lookup, facts);
        if (!files) return undefined;
        if (!files.ok) return files.message;
        const dir = this.volumeDir(pod, volume);
        await fs.mkdir(dir, { recursive: true, mode: 0o755 });
        if ((kind === 'secret' || kind === 'projected') && !this.d.mounts.isMountPoint(dir)) {
          await this.d.mounts.mountTmpfs(dir, { mode: 0o755 });
        }
        await writeAtomically(dir, files.files, this.owner(pod));
        return undefined;
      }
    }
  }

  /** The claim's volume bound onto the pod's directory for it; the reason when it cannot be yet. */
  private async setUpClaim(pod: Pod, volume: Volume, lookup: ConfigLookup): Promise<string | undefined> {
    const claimName = volumeClaimName(pod.metadata.name ?? '', volume)!;
    const dir = this.volumeDir(pod, volume);
    // Mounted once, it stays for the pod's life, whatever becomes of the claim meanwhile.
    if (this.d.mounts.isMountPoint(dir)) return undefined;
    const { claim, volume: pv } = lookup.claim?.(claimName) ?? {};
    if (!claim) return `persistentvolumeclaim "${claimName}" not found`;
    // An ephemeral volume's claim is the one made for this pod, never another of its name (the kubelet's VolumeIsForPod).
    if (volume.ephemeral && !(claim.metadata.ownerReferences ?? []).some((r) => r.uid === pod.metadata.uid && r.controller)) {
      return `PVC ${pod.metadata.namespace ?? 'default'}/${claimName} was not created for pod ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name} (pod is not owner)`;
    }
    if (!claim.spec.volumeName) return `persistentvolumeclaim "${claimName}" is not bound to a volume yet`;
    if (!pv) return `persistentvolume "${claim.spec.volumeName}" (of claim "${claimName}") not found`;
    const source = pv.spec.hostPath?.path ?? pv.spec.local?.path;
    if (!source) return `persistentvolume "${pv.metadata.name}": this node mounts hostPath and local volumes only`;
    this.d.noteVolume?.(pv);
    if (pv.spec.hostPath) {
      // A volume made by hand with no type is made when missing, as containerd makes a missing bind source.
      const type = pv.spec.hostPath.type || 'DirectoryOrCreate';
      const existed = existsSync(source);
      const problem = await hostPathProblem(source, type);
      if (problem) return problem;
      // As the local-path provisioner: a new volume anyone in the pod may write.
      if (!existed && statSync(source).isDirectory()) await fs.chmod(source, 0o777);
    } else if (!statSync(source, { throwIfNoEntry: false })?.isDirectory()) {
      return `local volume "${pv.metadata.name}": path "${source}" does not exist or is not a directory`;
    }
    const fsGroup = pod.spec.securityContext?.fsGroup;
    const st = statSync(source);
    if (fsGroup !== undefined && st.isDirectory()) {
      await fs.chown(source, st.uid, fsGroup);
      await fs.chmod(source, (st.mode & 0o7777) | 0o2070);
    }
    await fs.mkdir(dir, { recursive: true });
    const native = berthFs();
    const fd = native.openRoot(toBytePath(source));
    try {
      await this.d.mounts.bindDescriptor(fd, dir);
    } finally {
      native.close(fd);
    }
    return undefined;
  }

  /**
   * The object `subPath` names inside the volume at `root`, bind-mounted onto the pod's
   * volume-subpaths/<volume>/<container>/<index> (made once; a restarted container reuses it). A
   * missing subPath is made as a directory, as the kubelet does.
   */
  private async subPathSource(pod: Pod, container: string, index: number, volume: string, root: string, subPath: string): Promise<string> {
    const target = path.join(this.podDir(pod.metadata.uid ?? ''), 'volume-subpaths', volume, container, String(index));
    if (this.d.mounts.isMountPoint(target)) {
      if (stillLinked(target)) return target;
      // What it showed was unlinked since (an update swapped a ConfigMap's version away): bound anew.
      this.d.mounts.unmountUnder(target);
    }
    const native = berthFs();
    const rootFd = native.openRoot(toBytePath(root));
    let fd: number | undefined;
    try {
      const rel = toBytePath(subPath.replace(/\/+$/, ''));
      try {
        fd = native.openInRoot(rootFd, rel);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        native.mkdir(rootFd, rel, 0o755);
        fd = native.openInRoot(rootFd, rel);
      }
      const isDir = fstatSync(fd).isDirectory();
      await fs.mkdir(path.dirname(target), { recursive: true });
      if (isDir) await fs.mkdir(target, { recursive: true });
      else await fs.writeFile(target, '', { flag: 'a' });
      await this.d.mounts.bindDescriptor(fd, target);
      return target;
    } catch (err) {
      throw new Error(`volumeMount ${JSON.stringify(volume)}: subPath ${JSON.stringify(subPath)}: ${(err as Error).message}`);
    } finally {
      if (fd !== undefined) native.close(fd);
      native.close(rootFd);
    }
  }
}

/** False once the object a bind mount shows was removed from its directory (it can then no longer be mounted again). */
function stillLinked(target: string): boolean {
  try {
    return statSync(target).nlink > 0;
  } catch {
    return false;
  }
}

/**
 * A memory-backed emptyDir's size: its sizeLimit, else what the pod may use in memory at all (the
 * sum of its containers' memory limits, when each has one), else the kernel's default.
 */
function memoryVolumeSize(pod: Pod, volume: Volume): number | undefined {
  const where = `pod ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''} volume ${volume.name}`;
  const limit = volume.emptyDir?.sizeLimit;
  if (limit !== undefined) return parseMemory(limit, `${where} emptyDir.sizeLimit`);
  const limits = pod.spec.containers.map((c) => c.resources?.limits?.memory);
  if (limits.length === 0 || limits.some((l) => l === undefined)) return undefined;
  return limits.reduce((sum, l) => sum + parseMemory(l!, `${where}: a container's memory limit`), 0);
}

/** The kubelet's hostPath type checks; ...OrCreate makes what is missing. */
async function hostPathProblem(hostPath: string, type: string): Promise<string | undefined> {
  const stat = await fs.stat(hostPath).catch(() => undefined);
  const fail = (what: string) => `hostPath type check failed: ${hostPath} is not a ${what}`;
  switch (type) {
    case '':
      return undefined;
    case 'DirectoryOrCreate':
      if (!stat) await fs.mkdir(hostPath, { recursive: true, mode: 0o755 });
      else if (!stat.isDirectory()) return fail('directory');
      return undefined;
    case 'FileOrCreate':
      if (!stat) {
        await fs.mkdir(path.dirname(hostPath), { recursive: true, mode: 0o755 });
        await fs.writeFile(hostPath, '', { mode: 0o644, flag: 'a' });
      } else if (stat.isDirectory()) return fail('file');
      return undefined;
    case 'Directory':
      return stat?.isDirectory() ? undefined : fail('directory');
    case 'File':
      return stat?.isFile() ? undefined : fail('file');
    case 'Socket':
      return stat?.isSocket() ? undefined : fail('socket');
    case 'CharDevice':
      return stat?.isCharacterDevice() ? undefined : fail('character device');
    case 'BlockDevice':
      return stat?.isBlockDevice() ? undefined : fail('block device');
    default:
      return `hostPath type ${JSON.stringify(type)} is not one Kubernetes knows`;
  }
}
