// Cgroups that group containers under the agent's cgroup parent: a pod's containers sit in the
// pod's group and share its limits (the kubelet's pod cgroups), e.g. one pids limit for the pod.
//
// Lifecycle of a group: ensure (made, limits written; idempotent) -> containers created in it
// (runc makes each container's own cgroup below it, in every hierarchy, and removes it on delete)
// -> remove once no container is left (from every hierarchy runc made it in). On cgroup v1 the
// limits go to the pids hierarchy (and memory's and cpu's, for a pod with pod-level limits); on v2
// (one unified tree) the controllers are enabled down to the group first. Only the group's own directory is ever removed, never a container's.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../../proto/errors';

export interface GroupLimits {
  /** The most tasks (processes and threads) the group may hold; undefined: no limit of its own. */
  pids?: number;
  /** The most memory the group's containers may use together; undefined: no limit of its own. */
  memoryBytes?: number;
  /** The CPU time the group's containers may use together, in cores; undefined: no limit of its own. */
  cpus?: number;
}

/** The CFS period a CPU limit is a quota of (the kubelet's and runc's 100 ms). */
const CPU_PERIOD_US = 100_000;

export interface CgroupGroupsOptions {
  /** Absolute cgroup under every hierarchy holding the agent's containers, e.g. /berth. */
  parent: string;
  /** Where the hierarchies are mounted (tests point it elsewhere). Default /sys/fs/cgroup. */
  root?: string;
  /** Where the kernel's limits are read. Default /proc/sys/kernel. */
  kernelDir?: string;
}

const GROUP_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** A group's name is one path segment: never '..', never a path. */
export function checkGroupName(name: string): string {
  if (!GROUP_NAME.test(name) || name.length > 200) throw new BerthError('invalid-argument', `invalid cgroup group name "${name}"`);
  return name;
}

export class CgroupGroups {
  private readonly root: string;
  private readonly parent: string;
  private readonly kernelDir: string;

  constructor(o: CgroupGroupsOptions) {
    this.root = o.root ?? '/sys/fs/cgroup';
    this.parent = o.parent.replace(/\/+$/, '');
    this.kernelDir = o.kernelDir ?? '/proc/sys/kernel';
  }

  /** One unified hierarchy (v2) rather than one per controller (v1, also "hybrid" hosts). */
  private get unified(): boolean {
    return fs.existsSync(path.join(this.root, 'cgroup.controllers'));
  }

  /** Where the group's pids limit lives. */
  private pidsDir(name: string): string {
    return this.unified ? path.join(this.root, this.parent, name) : path.join(this.root, 'pids', this.parent, name);
  }

  exists(name: string): boolean {
    return fs.existsSync(this.pidsDir(checkGroupName(name)));
  }

  /** The groups under the parent (every directory there: containers outside a group have theirs too). */
  list(): string[] {
    const parent = path.dirname(this.pidsDir('x'));
    try {
      return fs.readdirSync(parent, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return [];
    }
  }

  /** Make the group if missing and (re)write its limits (memory and CPU only when given). */
  ensure(name: string, limits: GroupLimits): void {
    const dir = this.pidsDir(checkGroupName(name));
    if (this.unified) this.enableControllers(['pids', ...(limits.memoryBytes !== undefined ? ['memory'] : []), ...(limits.cpus !== undefined ? ['cpu'] : [])]);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'pids.max'), limits.pids === undefined ? 'max' : String(limits.pids));
    const quota = limits.cpus !== undefined ? Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US)) : undefined;
    if (this.unified) {
      if (limits.memoryBytes !== undefined) fs.writeFileSync(path.join(dir, 'memory.max'), String(limits.memoryBytes));
      if (quota !== undefined) fs.writeFileSync(path.join(dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
      return;
    }
    if (limits.memoryBytes !== undefined) {
      const memory = path.join(this.root, 'memory', this.parent, name);
      fs.mkdirSync(memory, { recursive: true });
      fs.writeFileSync(path.join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    }
    if (quota !== undefined) {
      const cpu = path.join(this.root, 'cpu', this.parent, name);
      fs.mkdirSync(cpu, { recursive: true });
      fs.writeFileSync(path.join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      fs.writeFileSync(path.join(cpu, 'cpu.cfs_quota_us'), String(quota));
    }
  }

  /**
   * A container's CPU time so far (nanoseconds) and memory working set (bytes: usage less the
   * inactive file cache, as the kubelet reports it), from its cgroup under `group` (a pod's) or
   * directly under the parent. Undefined when the cgroup is not there (the container is not running).
   */
  usage(group: string | undefined, id: string): { cpuNanos: number; memoryBytes: number } | undefined {
    const rel = [this.parent, ...(group ? [checkGroupName(group)] : []), checkGroupName(id)];
    if (this.unified) {
      const dir = path.join(this.root, ...rel);
      const usec = statField(path.join(dir, 'cpu.stat'), 'usage_usec');
      const current = readNumber(path.join(dir, 'memory.current'));
      if (usec === undefined || current === undefined) return undefined;
      return { cpuNanos: usec * 1000, memoryBytes: Math.max(0, current - (statField(path.join(dir, 'memory.stat'), 'inactive_file') ?? 0)) };
    }
    const cpuNanos = readNumber(path.join(this.root, 'cpuacct', ...rel, 'cpuacct.usage'));
    const memoryDir = path.join(this.root, 'memory', ...rel);
    const used = readNumber(path.join(memoryDir, 'memory.usage_in_bytes'));
    if (cpuNanos === undefined || used === undefined) return undefined;
    return { cpuNanos, memoryBytes: Math.max(0, used - (statField(path.join(memoryDir, 'memory.stat'), 'total_inactive_file') ?? 0)) };
  }

  /** The group's pids limit as the kernel has it; undefined: none of its own (or no group). */
  pidsLimit(name: string): number | undefined {
    const text = readTrimmed(path.join(this.pidsDir(checkGroupName(name)), 'pids.max'));
    return text === undefined || text === 'max' ? undefined : Number(text);
  }

  /**
   * Remove the group wherever it exists. Idempotent; a group that still holds a container's
   * cgroup (or a process) is 'failed-precondition', to be retried once the container is gone.
   */
  remove(name: string): void {
    checkGroupName(name);
    const dirs = this.unified
      ? [path.join(this.root, this.parent, name)]
      : fs.readdirSync(this.root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(this.root, d.name, this.parent, name));
    for (const dir of dirs) {
      try {
        fs.rmdirSync(dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue;
        if (code === 'EBUSY' || code === 'ENOTEMPTY') throw new BerthError('failed-precondition', `cgroup ${dir} still holds a container`, { cause: err });
        throw err;
      }
    }
  }

  /**
   * The most tasks a group could ever hold here: the kernel's pid_max and threads-max, and the
   * pids limits above the agent's parent. A limit above it would promise what the host cannot give.
   */
  pidsCeiling(): number {
    const limits = [readNumber(path.join(this.kernelDir, 'pid_max')), readNumber(path.join(this.kernelDir, 'threads-max'))];
    const top = this.unified ? this.root : path.join(this.root, 'pids');
    const segments = this.parent.split('/').filter(Boolean);
    for (let i = 0; i <= segments.length; i++) limits.push(readNumber(path.join(top, ...segments.slice(0, i), 'pids.max')));
    const known = limits.filter((n): n is number => n !== undefined);
    return known.length > 0 ? Math.min(...known) : Number.MAX_SAFE_INTEGER;
  }

  /** v2: a controller works in a group only when every ancestor passes it down. */
  private enableControllers(controllers: readonly string[]): void {
    const segments = this.parent.split('/').filter(Boolean);
    for (let i = 0; i <= segments.length; i++) {
      const dir = path.join(this.root, ...segments.slice(0, i));
      fs.mkdirSync(dir, { recursive: true });
      const control = path.join(dir, 'cgroup.subtree_control');
      const enabled = (readTrimmed(control) ?? '').split(' ');
      for (const c of controllers) if (!enabled.includes(c)) fs.writeFileSync(control, `+${c}`);
    }
  }
}

/**
 * The pods' pids limit: the configured one (undefined: unlimited) within the host's ceiling.
 * `clamped` says the configured value was lowered to fit.
 */
export function effectivePidsLimit(configured: number | undefined, ceiling: number): { pids?: number; clamped: boolean } {
  if (configured === undefined) return { clamped: false };
  return configured > ceiling ? { pids: ceiling, clamped: true } : { pids: configured, clamped: false };
}

function readTrimmed(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function readNumber(file: string): number | undefined {
  const text = readTrimmed(file);
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** A "name value" line's value of a cgroup stat file. */
function statField(file: string, name: string): number | undefined {
  const text = readTrimmed(file);
  const line = text?.split('\n').find((l) => l.startsWith(`${name} `));
  const value = line ? Number(line.slice(name.length + 1)) : NaN;
  return Number.isFinite(value) ? value : undefined;
}
