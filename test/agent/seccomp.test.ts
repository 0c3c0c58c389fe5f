// The seccomp filters containers run under, as pure functions: berth's default profile (Docker's
// semantics) compiled for a capability set and a host, users' profiles in Docker's and the OCI
// format, docker's --security-opt values, and the AppArmor profile choice.

import t from 'tap';
import { compileSchemaDir } from '../../agent/oci/validate';
import {
  appArmorProfileFor, buildSpec, chooseAppArmorProfile, compileProfile, DEFAULT_CAPABILITIES, defaultProfile, parseProfile, parseSecurityOpts,
  type LinuxSeccomp, type SpecInput,
} from '../../agent/runtime';

const validate = compileSchemaDir('/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema', 'OCI runtime-spec')('config-schema.json');
const X64 = { arch: 'x64', kernel: '6.1.0-18-amd64' };

/** The calls a filter lets through without conditions on their arguments. */
const allowed = (f: LinuxSeccomp) => new Set(f.syscalls!.filter((s) => s.action === 'SCMP_ACT_ALLOW' && !s.args).flatMap((s) => s.names));
const rulesFor = (f: LinuxSeccomp, name: string) => f.syscalls!.filter((s) => s.names.includes(name));

t.test("the default profile for docker's capabilities: an allowlist, EPERM for the rest", async (t) => {
  const f = compileProfile(defaultProfile(), DEFAULT_CAPABILITIES, X64);
  t.equal(f.defaultAction, 'SCMP_ACT_ERRNO');
  t.equal(f.defaultErrnoRet, 1, 'EPERM');
  t.same(f.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], '32-bit and x32 code on a 64-bit host are filtered too');
  const ok = allowed(f);
  for (const name of ['read', 'write', 'openat', 'execve', 'futex', 'clock_gettime', 'arch_prctl', 'modify_ldt', 'ptrace', 'chroot']) t.ok(ok.has(name), `${name} allowed`);
  for (const name of ['unshare', 'setns', 'mount', 'umount2', 'keyctl', 'add_key', 'request_key', 'reboot', 'init_module', 'bpf', 'perf_event_open', 'kcmp', 'open_by_handle_at', 'clock_settime', 'acct', 'swapon', 'clone3']) {
    t.notOk(ok.has(name), `${name} refused`);
  }
  t.notOk(ok.has('arm_fadvise64_64'), 'no arm calls on x86');
  t.same(rulesFor(f, 'clone'), [{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] }],
    'clone only without namespace flags');
  t.same(rulesFor(f, 'clone3'), [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }], 'clone3 answers ENOSYS, so libc falls back to clone');
  t.same(rulesFor(f, 'socket').map((r) => r.args), [
    [{ index: 0, value: 38, op: 'SCMP_CMP_LT' }], [{ index: 0, value: 39, op: 'SCMP_CMP_EQ' }], [{ index: 0, value: 40, op: 'SCMP_CMP_GT' }],
  ], 'every socket family but AF_ALG and AF_VSOCK');
  t.same(rulesFor(f, 'personality').map((r) => r.args![0]!.value), [0, 8, 0x20000, 0x20008, 0xffffffff]);
});

t.test('capabilities unlock their calls, as in Docker', async (t) => {
  const admin = compileProfile(defaultProfile(), [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], X64);
  for (const name of ['unshare', 'setns', 'mount', 'umount2', 'clone', 'clone3', 'sethostname']) t.ok(allowed(admin).has(name), `CAP_SYS_ADMIN: ${name}`);
  t.same(rulesFor(admin, 'clone3').map((r) => r.action), ['SCMP_ACT_ALLOW'], 'no ENOSYS for clone3');
  t.equal(rulesFor(admin, 'clone').filter((r) => r.args).length, 0, 'no clone flag filter');
  const ptrace = compileProfile(defaultProfile(), [...DEFAULT_CAPABILITIES, 'CAP_SYS_PTRACE'], X64);
  t.ok(allowed(ptrace).has('kcmp') && allowed(ptrace).has('pidfd_getfd'), 'CAP_SYS_PTRACE: kcmp, pidfd_getfd');
  const time = compileProfile(defaultProfile(), [...DEFAULT_CAPABILITIES, 'CAP_SYS_TIME'], X64);
  t.ok(allowed(time).has('clock_settime'), 'CAP_SYS_TIME: clock_settime');
  const none = compileProfile(defaultProfile(), [], X64);
  t.notOk(allowed(none).has('chroot'), 'chroot needs CAP_SYS_CHROOT');
  const old = compileProfile(defaultProfile(), DEFAULT_CAPABILITIES, { arch: 'x64', kernel: '4.4.0' });
  t.notOk(allowed(old).has('ptrace'), 'before 4.8, ptrace and process_vm_* need CAP_SYS_PTRACE');
});

t.test('architectures: arm64 filters arm too; an unknown host gets no architecture list', async (t) => {
  const arm = compileProfile(defaultProfile(), DEFAULT_CAPABILITIES, { arch: 'arm64', kernel: '6.1' });
  t.same(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  t.ok(allowed(arm).has('set_tls') && allowed(arm).has('arm_fadvise64_64'), 'arm calls');
  t.notOk(allowed(arm).has('arch_prctl'), 'no x86 calls');
  const other = compileProfile(defaultProfile(), DEFAULT_CAPABILITIES, { arch: 'mips', kernel: '6.1' });
  t.equal(other.architectures, undefined, 'the runtime filters the native architecture only');
  t.notOk(allowed(other).has('arch_prctl') || allowed(other).has('set_tls'));
});

t.test('the spec carries the filter; unconfined carries none; every variant is a valid runtime config', async (t) => {
  const base: SpecInput = {
    image: { Cmd: ['sh'] }, hostname: 'h', rootfs: '/r', etcFiles: { hosts: '/h', hostname: '/n', resolvConf: '/r' }, cgroupsPath: '/berth/x',
    nofile: { soft: 1024, hard: 1024 }, seccompHost: X64,
  };
  const linux = (spec: Record<string, unknown>) => spec.linux as { seccomp?: LinuxSeccomp };
  const process = (spec: Record<string, unknown>) => spec.process as { noNewPrivileges: boolean; apparmorProfile?: string };
  const dflt = buildSpec(base);
  t.equal(linux(dflt).seccomp?.defaultAction, 'SCMP_ACT_ERRNO', 'the default profile without asking');
  t.equal(process(dflt).noNewPrivileges, false);
  const unconfined = buildSpec({ ...base, security: { seccomp: { type: 'unconfined' }, noNewPrivileges: true, apparmorProfile: 'berth-default' } });
  t.equal(linux(unconfined).seccomp, undefined);
  t.equal(process(unconfined).noNewPrivileges, true);
  t.equal(process(unconfined).apparmorProfile, 'berth-default');
  const own = buildSpec({ ...base, security: { seccomp: { type: 'profile', json: '{"defaultAction":"SCMP_ACT_LOG","syscalls":[{"names":["keyctl"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}' }, noNewPrivileges: false } });
  t.same(linux(own).seccomp, { defaultAction: 'SCMP_ACT_LOG', syscalls: [{ names: ['keyctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }] });
  for (const spec of [dflt, unconfined, own]) t.ok(validate(spec), JSON.stringify(validate.errors));
});

t.test("a user's profile: Docker's format (archMap, includes, excludes) or the OCI one, checked with the place of the first mistake", async (t) => {
  const docker = parseProfile(JSON.stringify({
    defaultAction: 'SCMP_ACT_ERRNO',
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', comment: 'kept' },
      { name: 'mount', action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['set_tls'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64'] } },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_MASKED_EQ', valueTwo: 0 }], excludes: { caps: ['CAP_SYS_ADMIN'], minKernel: '99.0' } },
    ],
  }));
  t.same(compileProfile(docker, DEFAULT_CAPABILITIES, X64), {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
    ],
  });
  const oci = parseProfile('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"flags":["SECCOMP_FILTER_FLAG_LOG"],"syscalls":[{"names":["keyctl"],"action":"SCMP_ACT_ERRNO"}]}');
  t.same(compileProfile(oci, [], X64), { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], flags: ['SECCOMP_FILTER_FLAG_LOG'], syscalls: [{ names: ['keyctl'], action: 'SCMP_ACT_ERRNO' }] });
  const bad: Array<[string, string]> = [
    ['{nope', 'invalid seccomp profile: not JSON'],
    ['[]', 'invalid seccomp profile: the profile: expected an object'],
    ['{"syscalls":[]}', 'invalid seccomp profile: defaultAction: undefined is not one of'],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_MAYBE"}]}', 'invalid seccomp profile: syscalls[0].action: "SCMP_ACT_MAYBE" is not one of'],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"read","names":["read"],"action":"SCMP_ACT_ALLOW"}]}', 'invalid seccomp profile: syscalls[0]: both name and names are given: use one'],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":[],"action":"SCMP_ACT_ALLOW"}]}', 'invalid seccomp profile: syscalls[0].names: must name at least one system call'],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":-1,"op":"SCMP_CMP_EQ"}]}]}', 'invalid seccomp profile: syscalls[0].args[0].value: expected a non-negative integer'],
    ['{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[]}', 'invalid seccomp profile: both architectures and archMap are given: use one'],
    ['{"defaultAction":"SCMP_ACT_NOTIFY"}', 'invalid seccomp profile: SCMP_ACT_NOTIFY needs a seccomp agent, which berth does not run'],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4"}}]}', 'invalid seccomp profile: syscalls[0].includes.minKernel: expected MAJOR.MINOR, got "4"'],
  ];
  for (const [json, message] of bad) t.throws(() => parseProfile(json), { code: 'invalid-argument', message: new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) }, message);
});

t.test("docker's --security-opt values", async (t) => {
  t.same(parseSecurityOpts([]), { seccomp: { type: 'runtime-default' }, noNewPrivileges: false });
  t.same(parseSecurityOpts(['seccomp=unconfined', 'no-new-privileges']), { seccomp: { type: 'unconfined' }, noNewPrivileges: true });
  t.same(parseSecurityOpts(['seccomp:unconfined', 'no-new-privileges:true']), { seccomp: { type: 'unconfined' }, noNewPrivileges: true }, 'the older KEY:VALUE form');
  t.same(parseSecurityOpts(['no-new-privileges=true', 'no-new-privileges=false']), { seccomp: { type: 'runtime-default' }, noNewPrivileges: false }, 'the last one wins');
  const json = '{"defaultAction":"SCMP_ACT_ALLOW"}';
  t.same(parseSecurityOpts([`seccomp=${json}`]).seccomp, { type: 'profile', json });
  const cases: Array<[string, string]> = [
    ['no-new-privileges=maybe', 'invalid --security-opt "no-new-privileges=maybe": no-new-privileges takes true or false'],
    ['seccomp=/etc/profile.json', 'invalid --security-opt "seccomp=/etc/profile.json": the value is "unconfined" or a profile\'s JSON (berth run reads a profile file\'s path into its JSON)'],
    ['seccomp={"defaultAction":"SCMP_ACT_NOPE"}', 'invalid --security-opt "seccomp={"defaultAction":"SCMP_ACT_NOPE"}": invalid seccomp profile: defaultAction: "SCMP_ACT_NOPE" is not one of'],
    ['apparmor=unconfined', 'invalid --security-opt "apparmor=unconfined": apparmor options are not supported by berth (expected seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges[=true|false])'],
    ['sandbox', 'invalid --security-opt "sandbox": expected seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges[=true|false]'],
  ];
  for (const [opt, message] of cases) t.throws(() => parseSecurityOpts([opt]), { code: 'invalid-argument', message: new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) }, opt);
});

t.test("AppArmor: the host's container profile when enabled and loaded, else none", async (t) => {
  const profiles = 'docker-default (enforce)\n/usr/sbin/cupsd (enforce)\n';
  t.equal(chooseAppArmorProfile({ enabled: 'Y\n', profiles }), 'docker-default');
  t.equal(chooseAppArmorProfile({ enabled: 'Y\n', profiles: `berth-default (enforce)\n${profiles}` }), 'berth-default', "berth's own first");
  t.equal(chooseAppArmorProfile({ enabled: 'N\n', profiles }), undefined, 'disabled');
  t.equal(chooseAppArmorProfile({}), undefined, 'no AppArmor at all (this host)');
  t.equal(chooseAppArmorProfile({ enabled: 'Y', profiles: '/usr/sbin/cupsd (enforce)\n' }), undefined, 'enabled, no container profile loaded');
});

t.test('AppArmor as a pod asks for it: the kubelet\'s refusals where it cannot be enforced', async (t) => {
  const on = { enabled: true, defaultProfile: 'docker-default' };
  t.equal(appArmorProfileFor(undefined, on), 'docker-default', 'nothing asked: the default');
  t.equal(appArmorProfileFor(undefined, { enabled: false }), undefined);
  t.equal(appArmorProfileFor({ type: 'Unconfined' }, on), undefined);
  t.equal(appArmorProfileFor({ type: 'RuntimeDefault' }, on), 'docker-default');
  t.equal(appArmorProfileFor({ type: 'Localhost', localhostProfile: 'k8s-apparmor-example-deny-write' }, on), 'k8s-apparmor-example-deny-write');
  t.throws(() => appArmorProfileFor({ type: 'RuntimeDefault' }, { enabled: false }), { code: 'failed-precondition', message: 'Cannot enforce AppArmor: AppArmor is not enabled on the host' });
  t.throws(() => appArmorProfileFor({ type: 'Localhost', localhostProfile: 'x' }, { enabled: false }), { message: /AppArmor is not enabled on the host/ });
  t.throws(() => appArmorProfileFor({ type: 'RuntimeDefault' }, { enabled: true }), { message: /no default profile \(berth-default or docker-default\) is loaded/ });
});
