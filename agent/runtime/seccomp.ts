// Seccomp: which system calls a container's processes may make, as the OCI runtime's
// linux.seccomp filter. Every container gets berth's default profile unless it asks otherwise:
// the semantics of Docker's default (an allowlist; anything else fails with EPERM; calls that
// need a capability are allowed only when the container holds it; namespace-creating clone flags
// refused without CAP_SYS_ADMIN). Users may bring their own profile in Docker's profile format
// (archMap, includes/excludes) or the OCI one; both compile through the same function.
//
// Pure: the host's architecture and kernel release are arguments.

import { BerthError } from '../../proto/errors';

export type SeccompSetting =
  /** berth's default profile (Docker's semantics, defaultProfile below): an allowlist, EPERM for the rest. */
  | { type: 'runtime-default' }
  /** No filter. */
  | { type: 'unconfined' }
  /** The user's profile, Docker's profile format or the OCI one, as JSON text (read when the container was made). */
  | { type: 'profile'; json: string };

/** What confines the container's processes beyond their namespaces and capabilities. */
export interface SecurityConfig {
  seccomp: SeccompSetting;
  /** no_new_privs: setuid binaries and file capabilities grant nothing. */
  noNewPrivileges: boolean;
  /** The AppArmor profile the host had loaded for containers when this one was made (apparmor.ts). */
  apparmorProfile?: string;
  /** The profile was asked for by name (a pod's Localhost): kept even for a privileged container. */
  apparmorExplicit?: boolean;
  /** Capabilities added to and dropped from the default set, Kubernetes' and docker's way ("ALL" drops all). */
  capAdd?: string[];
  capDrop?: string[];
  /** Refuse to start a process whose user resolves to root (Kubernetes' runAsNonRoot). */
  runAsNonRoot?: boolean;
  /**
   * docker's --privileged, Kubernetes' securityContext.privileged: every capability the runtime
   * itself holds, no seccomp filter, no AppArmor profile, no masked paths, /sys writable and the
   * host's devices (spec.ts).
   */
  privileged?: boolean;
}

/** The filter as runc takes it (the runtime spec's linux.seccomp). */
export interface LinuxSeccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls?: LinuxSyscall[];
}

export interface LinuxSyscall {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[];
}

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

const ACTIONS = [
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG',
] as const;
export type SeccompAction = (typeof ACTIONS)[number];
const OPERATORS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];
const FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'];
const ARCHES = [
  'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64',
];

/** What the filter is built for: Node's process.arch and os.release(). */
export interface SeccompHost {
  arch: string;
  kernel: string;
}

/**
 * A profile before it meets a host: Docker's profile format, which the OCI format is a subset of.
 * A rule's conditions name capabilities (of the bounding set) and architectures in libseccomp's
 * native words (amd64, x86, x32, arm, arm64, s390x...).
 */
export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  /** The OCI way: the architectures, as given. */
  architectures?: string[];
  /** Docker's way: per native architecture, the ones the filter also covers (a 64-bit host runs 32-bit code). */
  archMap?: Array<{ architecture: string; subArchitectures?: string[] }>;
  flags?: string[];
  syscalls: ProfileRule[];
}

export interface ProfileRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[];
  /** Applies only if every condition holds. */
  includes?: RuleCondition;
  /** Dropped if any condition holds. */
  excludes?: RuleCondition;
}

export interface RuleCondition {
  caps?: string[];
  arches?: string[];
  /** "MAJOR.MINOR" */
  minKernel?: string;
}

const EPERM = 1;
const ENOSYS = 38;

// clone(2) flags that make new namespaces: a container without CAP_SYS_ADMIN could otherwise get
// around the missing unshare/setns by cloning into fresh namespaces.
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const NAMESPACE_FLAGS = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

// Socket families kept from containers: the kernel's crypto API and host/VM sockets.
const AF_ALG = 38;
const AF_VSOCK = 40;

const words = (text: string): string[] => text.trim().split(/\s+/);

/**
 * What any process needs and no capability guards. Names the host's libseccomp does not know
 * (newer calls) are skipped by runc, so the list may run ahead of the host.
 */
const ALWAYS_ALLOWED = words(`
  accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
  clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
  clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3
  epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
  eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate
  fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync
  fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync
  ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat
  getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups
  getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid
  getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt
  get_thread_area gettid gettimeofday getuid getuid32 getxattr getxattrat inotify_add_watch inotify_init
  inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
  io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule
  landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listmount
  listxattr listxattrat llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise
  map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2
  mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
  mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget msgrcv msgsnd msync munlock
  munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause
  pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64
  prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev
  pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg
  remap_file_pages removexattr removexattrat rename renameat renameat2 restart_syscall riscv_hwprobe
  rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
  rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr
  sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
  sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
  sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64
  sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32
  setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid
  setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32
  setxattr setxattrat shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask
  sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statmount statx symlink symlinkat
  sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun
  timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
  timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask
  uname unlink unlinkat uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid
  waitpid write writev
`);

/** Calls a capability unlocks: held in the bounding set, the container may make them. */
const BY_CAPABILITY: Record<string, string[]> = {
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
  CAP_SYS_ADMIN: words(`
    bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie lsm_get_self_attr
    lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount open_tree perf_event_open quotactl
    quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare
  `),
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_CHROOT: ['chroot'],
  CAP_SYS_MODULE: ['delete_module', 'init_module', 'finit_module'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_PTRACE: ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
  CAP_SYS_NICE: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'],
  CAP_SYSLOG: ['syslog'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
};

/** Calls only some architectures have. */
const BY_ARCH: Array<{ arches: string[]; names: string[] }> = [
  { arches: ['amd64', 'x32'], names: ['arch_prctl'] },
  { arches: ['amd64', 'x32', 'x86'], names: ['modify_ldt'] },
  { arches: ['arm', 'arm64'], names: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'] },
];

const allow = (names: string[], more: Partial<ProfileRule> = {}): ProfileRule => ({ names, action: 'SCMP_ACT_ALLOW', ...more });
const argEquals = (value: number): SeccompArg[] => [{ index: 0, value, op: 'SCMP_CMP_EQ' }];

/** berth's default profile, before it meets a host: Docker's default, in berth's words. */
export function defaultProfile(): SeccompProfile {
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    ],
    syscalls: [
      allow(ALWAYS_ALLOWED),
      // Reading other processes' memory became subject to ptrace's access checks in 4.8; before,
      // these were a way around them.
      allow(['process_vm_readv', 'process_vm_writev', 'ptrace'], { includes: { minKernel: '4.8' } }),
      // socket(2) for every family but AF_ALG and AF_VSOCK (39, between them, stays allowed).
      allow(['socket'], { args: [{ index: 0, value: AF_ALG, op: 'SCMP_CMP_LT' }] }),
      allow(['socket'], { args: argEquals(AF_ALG + 1) }),
      allow(['socket'], { args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_GT' }] }),
      // personality(2) only to the harmless personas (Linux, 32-bit, UNAME26, both) and to query.
      ...[0x0, 0x8, 0x20000, 0x20008, 0xffffffff].map((p) => allow(['personality'], { args: argEquals(p) })),
      ...BY_ARCH.map((r) => allow(r.names, { includes: { arches: r.arches } })),
      ...Object.entries(BY_CAPABILITY).map(([cap, names]) => allow(names, { includes: { caps: [cap] } })),
      // Without CAP_SYS_ADMIN, clone(2) only into the namespaces the container already has. (s390
      // passes the flags as the second argument; berth builds filters for x86 and arm only.)
      allow(['clone'], {
        args: [{ index: 0, value: NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
        excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
      }),
      // clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone.
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    ],
  };
}

/** Node's process.arch in libseccomp's native words, as Docker's profile conditions use them. */
const NATIVE_ARCH: Record<string, { native: string; scmp: string }> = {
  x64: { native: 'amd64', scmp: 'SCMP_ARCH_X86_64' },
  ia32: { native: 'x86', scmp: 'SCMP_ARCH_X86' },
  arm64: { native: 'arm64', scmp: 'SCMP_ARCH_AARCH64' },
  arm: { native: 'arm', scmp: 'SCMP_ARCH_ARM' },
  s390x: { native: 's390x', scmp: 'SCMP_ARCH_S390X' },
  ppc64: { native: 'ppc64le', scmp: 'SCMP_ARCH_PPC64LE' },
  riscv64: { native: 'riscv64', scmp: 'SCMP_ARCH_RISCV64' },
};

/**
 * The filter for a container with this bounding capability set on this host: architectures from
 * the profile's archMap entry for the host's (or its own list), rules whose conditions hold.
 */
export function compileProfile(profile: SeccompProfile, capabilities: readonly string[], host: SeccompHost): LinuxSeccomp {
  const arch = NATIVE_ARCH[host.arch];
  const held = new Set(capabilities);
  const kernel = kernelVersion(host.kernel);
  const holds = (c: RuleCondition, every: boolean): boolean => {
    const checks: boolean[] = [];
    if (c.arches?.length) checks.push(arch !== undefined && c.arches.includes(arch.native));
    if (c.caps?.length) checks.push(every ? c.caps.every((cap) => held.has(cap)) : c.caps.some((cap) => held.has(cap)));
    if (c.minKernel !== undefined) checks.push(atLeast(kernel, kernelVersion(c.minKernel)));
    return every ? checks.every(Boolean) : checks.some(Boolean);
  };
  const syscalls = profile.syscalls
    .filter((r) => (!r.includes || holds(r.includes, true)) && (!r.excludes || !holds(r.excludes, false)))
    .map(({ names, action, errnoRet, args }): LinuxSyscall => ({
      names, action, ...(errnoRet !== undefined ? { errnoRet } : {}), ...(args?.length ? { args } : {}),
    }));
  const mapped = arch && profile.archMap?.find((a) => a.architecture === arch.scmp);
  const architectures = profile.architectures ?? (mapped ? [mapped.architecture, ...(mapped.subArchitectures ?? [])] : []);
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    ...(architectures.length ? { architectures } : {}),
    ...(profile.flags?.length ? { flags: profile.flags } : {}),
    syscalls,
  };
}

type KernelVersion = [number, number];

function kernelVersion(text: string): KernelVersion {
  const m = /^(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

const atLeast = (v: KernelVersion, min: KernelVersion) => v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1]);

// ---- a user's profile ------------------------------------------------------------------------

const invalid = (message: string) => new BerthError('invalid-argument', `invalid seccomp profile: ${message}`);

/**
 * A profile file's JSON, checked: Docker's format or the OCI runtime spec's. Fails with the first
 * thing wrong and where (`syscalls[3].action`), before any container is made with it.
 */
export function parseProfile(json: string): SeccompProfile {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw invalid(`not JSON (${(err as Error).message})`);
  }
  const o = object(doc, 'the profile');
  if (o.listenerPath !== undefined || o.defaultAction === 'SCMP_ACT_NOTIFY') throw invalid('SCMP_ACT_NOTIFY needs a seccomp agent, which berth does not run');
  const defaultAction = oneOf(o.defaultAction, ACTIONS, 'defaultAction');
  if (o.architectures !== undefined && o.archMap !== undefined) throw invalid('both architectures and archMap are given: use one');
  const profile: SeccompProfile = { defaultAction, syscalls: [] };
  if (o.defaultErrnoRet !== undefined) profile.defaultErrnoRet = uint(o.defaultErrnoRet, 'defaultErrnoRet');
  if (o.architectures !== undefined) profile.architectures = list(o.architectures, 'architectures').map((a, i) => oneOf(a, ARCHES, `architectures[${i}]`));
  if (o.archMap !== undefined) {
    profile.archMap = list(o.archMap, 'archMap').map((entry, i) => {
      const e = object(entry, `archMap[${i}]`);
      return {
        architecture: oneOf(e.architecture, ARCHES, `archMap[${i}].architecture`),
        subArchitectures: e.subArchitectures === undefined || e.subArchitectures === null ? [] : list(e.subArchitectures, `archMap[${i}].subArchitectures`).map((a, j) => oneOf(a, ARCHES, `archMap[${i}].subArchitectures[${j}]`)),
      };
    });
  }
  if (o.flags !== undefined) profile.flags = list(o.flags, 'flags').map((f, i) => oneOf(f, FLAGS, `flags[${i}]`));
  profile.syscalls = (o.syscalls === undefined || o.syscalls === null ? [] : list(o.syscalls, 'syscalls')).map((r, i) => parseRule(r, `syscalls[${i}]`));
  return profile;
}

function parseRule(value: unknown, at: string): ProfileRule {
  const r = object(value, at);
  if (r.name !== undefined && r.names !== undefined) throw invalid(`${at}: both name and names are given: use one`);
  const names = r.name !== undefined ? [string(r.name, `${at}.name`)] : list(r.names, `${at}.names`).map((n, i) => string(n, `${at}.names[${i}]`));
  if (names.length === 0) throw invalid(`${at}.names: must name at least one system call`);
  if (r.action === 'SCMP_ACT_NOTIFY') throw invalid(`${at}.action: SCMP_ACT_NOTIFY needs a seccomp agent, which berth does not run`);
  const rule: ProfileRule = { names, action: oneOf(r.action, ACTIONS, `${at}.action`) };
  if (r.errnoRet !== undefined) rule.errnoRet = uint(r.errnoRet, `${at}.errnoRet`);
  if (r.args !== undefined && r.args !== null) {
    rule.args = list(r.args, `${at}.args`).map((a, i) => {
      const arg = object(a, `${at}.args[${i}]`);
      return {
        index: uint(arg.index, `${at}.args[${i}].index`),
        value: uint(arg.value, `${at}.args[${i}].value`),
        ...(arg.valueTwo !== undefined ? { valueTwo: uint(arg.valueTwo, `${at}.args[${i}].valueTwo`) } : {}),
        op: oneOf(arg.op, OPERATORS, `${at}.args[${i}].op`),
      };
    });
  }
  for (const key of ['includes', 'excludes'] as const) {
    if (r[key] === undefined || r[key] === null) continue;
    const c = object(r[key], `${at}.${key}`);
    const condition: RuleCondition = {};
    if (c.caps !== undefined && c.caps !== null) condition.caps = list(c.caps, `${at}.${key}.caps`).map((s, i) => string(s, `${at}.${key}.caps[${i}]`));
    if (c.arches !== undefined && c.arches !== null) condition.arches = list(c.arches, `${at}.${key}.arches`).map((s, i) => string(s, `${at}.${key}.arches[${i}]`));
    if (c.minKernel !== undefined && c.minKernel !== null) {
      const k = string(c.minKernel, `${at}.${key}.minKernel`);
      if (!/^\d+\.\d+$/.test(k)) throw invalid(`${at}.${key}.minKernel: expected MAJOR.MINOR, got "${k}"`);
      condition.minKernel = k;
    }
    rule[key] = condition;
  }
  return rule;
}

function object(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${at}: expected an object`);
  return v as Record<string, unknown>;
}

function list(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw invalid(`${at}: expected a list`);
  return v;
}

function string(v: unknown, at: string): string {
  if (typeof v !== 'string' || v === '') throw invalid(`${at}: expected a non-empty string`);
  return v;
}

function uint(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalid(`${at}: expected a non-negative integer`);
  return v;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], at: string): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw invalid(`${at}: ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
  return v as T;
}

/** A container's seccomp setting as the filter runc gets; undefined: no filter at all. */
export function seccompFor(setting: SeccompSetting, capabilities: readonly string[], host: SeccompHost): LinuxSeccomp | undefined {
  switch (setting.type) {
    case 'runtime-default': return compileProfile(defaultProfile(), capabilities, host);
    case 'unconfined': return undefined;
    case 'profile': return compileProfile(parseProfile(setting.json), capabilities, host);
  }
}
