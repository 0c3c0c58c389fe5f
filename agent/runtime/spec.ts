// The OCI runtime config (config.json) for a container: the image config turned into a process
// per the OCI image spec's conversion rules, with docker's defaults around it (namespaces,
// capabilities, seccomp, masked and read-only /proc paths, /dev, /dev/shm, the /etc files, limits).
// A pure function of its input: no host is read here (the seccomp filter's architecture and kernel
// release come in as `seccompHost`, by default this process's).

import * as os from 'node:os';
import { BerthError } from '../../proto/errors';
import type { ImageConfig } from '../oci';
import { ALL_CAPABILITIES_BY_NUMBER } from './capabilities';
import { seccompFor, type SeccompHost, type SecurityConfig } from './seccomp';
import { resolveUser } from './user';

const CPU_PERIOD_US = 100_000;
const MIN_CPU_QUOTA_US = 1000;

export const OCI_VERSION = '1.0.2';

/** Docker's default capability set. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Kernel interfaces hidden from containers (docker's list). */
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Every container's unless it asks otherwise: the default seccomp profile, privileges may be gained. */
export const DEFAULT_SECURITY: SecurityConfig = { seccomp: { type: 'runtime-default' }, noNewPrivileges: false };

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface VolumeMount {
  source: string;
  destination: string;
  readonly: boolean;
  /** Read-only including the mounts below it (a pod's recursiveReadOnly). */
  recursiveReadonly?: boolean;
}

export interface SpecInput {
  /** The image's config section (Entrypoint, Cmd, Env, WorkingDir, User, Labels...). */
  image: NonNullable<ImageConfig['config']>;
  /** docker run's overrides; absent means "as the image says". */
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  /** Supplementary groups added to the user's own. */
  groupAdd?: number[];
  /** Without the groups the image's /etc/group lists the user in. */
  strictGroups?: boolean;
  readonlyRootfs?: boolean;
  hostname: string;
  /** The merged overlay. */
  rootfs: string;
  /** Contents of the image's /etc/passwd and /etc/group, for the user lookup. */
  passwd?: string;
  group?: string;
  /** Files the agent prepared, bind-mounted read-write like docker's. */
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  volumes?: VolumeMount[];
  /** Network namespace to join; undefined: a fresh one (none); 'host': the host's. */
  netns?: string | 'host';
  /** The host's PID namespace rather than a new one. */
  hostPid?: boolean;
  /** The host's IPC namespace and its /dev/shm rather than new ones. */
  hostIpc?: boolean;
  limits?: { memoryBytes?: number; cpus?: number; pids?: number };
  cgroupsPath: string;
  /** RLIMIT_NOFILE, kept within the host's hard limit (raising it needs CAP_SYS_RESOURCE). */
  nofile: { soft: number; hard: number };
  labels?: Record<string, string>;
  /** Default: DEFAULT_SECURITY. */
  security?: SecurityConfig;
  /** What the seccomp filter is built for; default: this host. */
  seccompHost?: SeccompHost;
  /** A privileged container's devices and capabilities: the host's (host-devices.ts); required when security.privileged. */
  privilegedHost?: PrivilegedHost;
  /** The process runs on a pseudo-terminal (docker's -t); TERM is set for it. */
  terminal?: boolean;
}

/** What a privileged container gets of the host: its devices, and the capabilities the runtime holds. */
export interface PrivilegedHost {
  devices: LinuxDevice[];
  capabilities: string[];
}

/** A device node as the runtime spec's linux.devices lists it. */
export interface LinuxDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** Entrypoint and Cmd as docker combines them with --entrypoint and a command. */
export function processArgs(image: SpecInput['image'], entrypoint?: string[], cmd?: string[]): string[] {
  // An --entrypoint override also drops the image's Cmd: it belonged to the old entrypoint.
  const ep = entrypoint ?? image.Entrypoint ?? [];
  const args = cmd && cmd.length > 0 ? cmd : entrypoint !== undefined ? [] : image.Cmd ?? [];
  const all = [...ep, ...args];
  if (all.length === 0) throw new BerthError('invalid-argument', 'no command specified');
  return all;
}

/** Image Env, then overrides by name; PATH supplied when neither has one. */
export function mergeEnv(image: string[] = [], overrides: string[] = [], extra: Record<string, string> = {}): string[] {
  const env = new Map<string, string>();
  const put = (entry: string) => {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (key === '') throw new BerthError('invalid-argument', `invalid environment variable "${entry}"`);
    env.set(key, eq < 0 ? `${key}=` : entry);
  };
  image.forEach(put);
  overrides.forEach(put);
  if (!env.has('PATH')) put(DEFAULT_PATH);
  for (const [key, value] of Object.entries(extra)) if (!env.has(key)) env.set(key, `${key}=${value}`);
  return [...env.values()];
}

/** Every capability a container can be given (capabilities(7), as runc knows them), by name. */
export const ALL_CAPABILITIES = [...ALL_CAPABILITIES_BY_NUMBER].sort();

/**
 * The default set with `drop` taken away ("ALL": everything) and then `add` put in, as docker and
 * the kubelet apply them; names with or without CAP_, any case. An unknown name is an error.
 */
export function effectiveCapabilities(add: readonly string[], drop: readonly string[]): string[] {
  const canonical = (name: string) => {
    const upper = name.toUpperCase();
    if (upper === 'ALL') return 'ALL';
    const cap = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
    if (!ALL_CAPABILITIES.includes(cap)) throw new BerthError('invalid-argument', `unknown capability "${name}"`);
    return cap;
  };
  const dropped = drop.map(canonical);
  const added = add.map(canonical);
  let caps = dropped.includes('ALL') ? [] : DEFAULT_CAPABILITIES.filter((c) => !dropped.includes(c));
  caps = added.includes('ALL') ? [...ALL_CAPABILITIES] : [...caps, ...added.filter((c) => !caps.includes(c))];
  return caps;
}

/** runAsNonRoot, as the kubelet checks it: a numeric user other than 0, or the refusal in its words. */
function requireNonRoot(word: string, uid: number): void {
  const name = word.split(':')[0] ?? '';
  if (name !== '' && !/^\d+$/.test(name)) {
    throw new BerthError('failed-precondition', `container has runAsNonRoot and image has non-numeric user (${name}), cannot verify user is non-root`);
  }
  if (uid === 0) throw new BerthError('failed-precondition', 'container has runAsNonRoot and image will run as root');
}

export function buildSpec(input: SpecInput): Record<string, unknown> {
  const args = processArgs(input.image, input.entrypoint, input.cmd);
  const user = resolveUser(input.user ?? input.image.User ?? '', input.passwd, input.group);
  const env = mergeEnv(input.image.Env ?? [], input.env, { HOSTNAME: input.hostname, HOME: user.home, ...(input.terminal ? { TERM: 'xterm' } : {}) });
  const gids = [...new Set([...(input.strictGroups ? [] : user.additionalGids), ...(input.groupAdd ?? [])])].filter((g) => g !== user.gid);
  const cwd = input.workdir || input.image.WorkingDir || '/';
  if (!cwd.startsWith('/')) throw new BerthError('invalid-argument', `the working directory "${cwd}" is invalid, it needs to be an absolute path`);

  const namespaces: Array<{ type: string; path?: string }> = [
    ...(input.hostPid ? [] : [{ type: 'pid' }]), ...(input.hostIpc ? [] : [{ type: 'ipc' }]), { type: 'uts' }, { type: 'mount' },
  ];
  if (input.netns === undefined) namespaces.push({ type: 'network' });
  else if (input.netns !== 'host') namespaces.push({ type: 'network', path: input.netns });

  const security = input.security ?? DEFAULT_SECURITY;
  const privileged = security.privileged ? input.privilegedHost : undefined;
  if (security.privileged && !privileged) throw new BerthError('internal', 'a privileged container needs the host\'s devices and capabilities');
  // Privileged: every device may be used (the host's are created in the container's /dev).
  const resources: Record<string, unknown> = { devices: [{ allow: Boolean(privileged), access: 'rwm' }] };
  const { memoryBytes, cpus, pids } = input.limits ?? {};
  if (memoryBytes !== undefined) resources.memory = { limit: memoryBytes };
  // The kernel refuses a CFS quota under 1 ms; a smaller limit gets the floor, as the kubelet does.
  if (cpus !== undefined) resources.cpu = { quota: Math.max(MIN_CPU_QUOTA_US, Math.round(cpus * CPU_PERIOD_US)), period: CPU_PERIOD_US };
  if (pids !== undefined) resources.pids = { limit: pids };

  if (security.runAsNonRoot) requireNonRoot(input.user ?? input.image.User ?? '', user.uid);
  // Privileged: what the runtime holds itself (a capability it lacks could not be granted).
  const capabilities = privileged ? privileged.capabilities : effectiveCapabilities(security.capAdd ?? [], security.capDrop ?? []);
  // Built for the capabilities the process gets: the default profile unlocks calls by capability.
  const seccomp = privileged ? undefined : seccompFor(security.seccomp, capabilities, input.seccompHost ?? { arch: process.arch, kernel: os.release() });
  const sysOptions = (extra: string[]) => ['nosuid', 'noexec', 'nodev', ...extra, ...(privileged ? [] : ['ro'])];

  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: input.terminal ?? false,
      user: { uid: user.uid, gid: user.gid, ...(gids.length ? { additionalGids: gids } : {}) },
      args,
      env,
      cwd,
      capabilities: {
        bounding: capabilities,
        effective: capabilities,
        permitted: capabilities,
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: input.nofile.hard, soft: Math.min(input.nofile.soft, input.nofile.hard) }],
      noNewPrivileges: security.noNewPrivileges,
      // A privileged container drops the default profile, not one asked for by name (containerd's rule).
      ...(security.apparmorProfile && (!privileged || security.apparmorExplicit) ? { apparmorProfile: security.apparmorProfile } : {}),
    },
    root: { path: input.rootfs, readonly: input.readonlyRootfs ?? false },
    hostname: input.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: sysOptions([]) },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: sysOptions(['relatime']) },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      input.hostIpc
        ? { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] }
        : { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'] },
      ...(['hosts', 'hostname', 'resolvConf'] as const).map((key) => ({
        destination: key === 'resolvConf' ? '/etc/resolv.conf' : `/etc/${key}`,
        type: 'bind',
        source: input.etcFiles[key],
        options: ['rbind', 'rprivate'],
      })),
      ...(input.volumes ?? []).map((v) => ({
        destination: v.destination,
        type: 'bind',
        source: v.source,
        // rro: read-only all the way down (mounts under the volume too), through mount_setattr.
        options: ['rbind', 'rprivate', ...(v.readonly ? [v.recursiveReadonly ? 'rro' : 'ro'] : [])],
      })),
    ],
    annotations: { ...input.image.Labels, ...input.labels },
    linux: {
      namespaces,
      resources,
      cgroupsPath: input.cgroupsPath,
      ...(privileged ? { devices: privileged.devices } : { maskedPaths: MASKED_PATHS, readonlyPaths: READONLY_PATHS }),
      ...(seccomp ? { seccomp } : {}),
    },
  };
}
