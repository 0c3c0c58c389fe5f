// The OCI runtime config built from an image config: docker's conversion rules and defaults,
// and every generated config.json valid against the OCI runtime-spec schema.

import t from 'tap';
import { compileSchemaDir } from '../../agent/oci/validate';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSpec, DEFAULT_CAPABILITIES, mergeEnv, processArgs, resolveUser, type SpecInput } from '../../agent/runtime';
import { capabilitiesOfMask, hostDevices } from '../../agent/runtime/host-devices';

const validate = compileSchemaDir('/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema', 'OCI runtime-spec')('config-schema.json');

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:web:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nwww:x:33:\nadm:x:4:www\naudio:x:29:www,nobody\nnogroup:x:65534:\n';

const base = (over: Partial<SpecInput> = {}): SpecInput => ({
  image: { Entrypoint: ['/bin/app'], Cmd: ['--serve'], Env: ['PATH=/app/bin:/bin', 'MODE=prod'], WorkingDir: '/srv', User: 'www', Labels: { team: 'edge' }, StopSignal: 'SIGQUIT' },
  hostname: 'c0ffee',
  rootfs: '/var/lib/berth/containers/c0ffee/merged',
  passwd: PASSWD,
  group: GROUP,
  etcFiles: { hosts: '/run/b/hosts', hostname: '/run/b/hostname', resolvConf: '/run/b/resolv.conf' },
  cgroupsPath: '/berth/c0ffee',
  nofile: { soft: 1048576, hard: 524288 },
  ...over,
});

t.test('a full spec validates and carries the image config', async (t) => {
  const spec = buildSpec(base({ volumes: [{ source: '/data', destination: '/data', readonly: true }], limits: { memoryBytes: 64 << 20, cpus: 1.5, pids: 100 }, netns: '/var/run/netns/b1' }));
  t.ok(validate(spec), JSON.stringify(validate.errors));
  t.match(spec, {
    process: {
      args: ['/bin/app', '--serve'],
      cwd: '/srv',
      user: { uid: 33, gid: 33, additionalGids: [4, 29] },
      env: ['PATH=/app/bin:/bin', 'MODE=prod', 'HOSTNAME=c0ffee', 'HOME=/var/www'],
      capabilities: { bounding: DEFAULT_CAPABILITIES },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 524288, soft: 524288 }],
    },
    hostname: 'c0ffee',
    annotations: { team: 'edge' },
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network', path: '/var/run/netns/b1' }],
      resources: { memory: { limit: 64 << 20 }, cpu: { quota: 150000, period: 100000 }, pids: { limit: 100 } },
      maskedPaths: ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  });
  const mounts = (spec.mounts as Array<{ destination: string; options?: string[] }>);
  t.same(mounts.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/data']);
  t.ok(mounts.at(-1)!.options!.includes('ro'), 'a :ro volume is read-only');
});

t.test('network modes: a fresh namespace, a given one, the host\'s', async (t) => {
  const types = (netns: SpecInput['netns']) => ((buildSpec(base({ netns })).linux as { namespaces: Array<{ type: string; path?: string }> }).namespaces);
  t.same(types(undefined).at(-1), { type: 'network' }, '--network none: its own empty namespace');
  t.notOk(types('host').some((n) => n.type === 'network'), '--network host: no network namespace');
  for (const netns of [undefined, 'host'] as const) t.ok(validate(buildSpec(base({ netns }))), `valid with netns ${netns}`);
});

t.test('Entrypoint and Cmd with their overrides (OCI image spec, docker run)', async (t) => {
  const image = { Entrypoint: ['/bin/app'], Cmd: ['--serve'] };
  t.same(processArgs(image), ['/bin/app', '--serve'], 'image as is');
  t.same(processArgs(image, undefined, ['--check']), ['/bin/app', '--check'], 'a command replaces Cmd only');
  t.same(processArgs(image, ['/bin/sh']), ['/bin/sh'], '--entrypoint drops the image Cmd');
  t.same(processArgs(image, ['/bin/sh'], ['-c', 'id']), ['/bin/sh', '-c', 'id']);
  t.same(processArgs({ Cmd: ['sh'] }), ['sh'], 'Cmd alone');
  t.same(processArgs({ Entrypoint: null, Cmd: null }, undefined, ['true']), ['true']);
  t.throws(() => processArgs({}), { code: 'invalid-argument', message: 'no command specified' });
  t.throws(() => processArgs({ Cmd: ['sh'] }, []), { message: 'no command specified' }, '--entrypoint "" with no command');
});

t.test('Env: image first, overrides by name, PATH when none', async (t) => {
  t.same(mergeEnv(['A=1', 'B=2'], ['B=3', 'C']), ['A=1', 'B=3', 'C=', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  t.same(mergeEnv(['PATH=/x'], [], { HOME: '/h' }), ['PATH=/x', 'HOME=/h']);
  t.same(mergeEnv([], ['HOME=/mine'], { HOME: '/h' }), ['HOME=/mine', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], 'a given HOME is kept');
  t.throws(() => mergeEnv([], ['=x']), { code: 'invalid-argument', message: 'invalid environment variable "=x"' });
});

t.test('users by name or id, through the image\'s passwd and group', async (t) => {
  t.same(resolveUser('', PASSWD, GROUP), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
  t.same(resolveUser('www', PASSWD, GROUP), { uid: 33, gid: 33, additionalGids: [4, 29], home: '/var/www' });
  t.same(resolveUser('33', PASSWD, GROUP), { uid: 33, gid: 33, additionalGids: [4, 29], home: '/var/www' }, 'a uid in passwd takes its entry');
  t.same(resolveUser('1234', PASSWD, GROUP), { uid: 1234, gid: 0, additionalGids: [], home: '/' }, 'an unknown uid runs with gid 0');
  t.same(resolveUser('nobody:audio', PASSWD, GROUP), { uid: 65534, gid: 29, additionalGids: [], home: '/nonexistent' });
  t.same(resolveUser('1234:5678', undefined, undefined), { uid: 1234, gid: 5678, additionalGids: [], home: '/' }, 'ids need no files');
  t.throws(() => resolveUser('ghost', PASSWD, GROUP), { code: 'invalid-argument', message: 'unable to find user ghost: no matching entries in passwd file' });
  t.throws(() => resolveUser('www:ghosts', PASSWD, GROUP), { message: 'unable to find group ghosts: no matching entries in group file' });
  t.throws(() => resolveUser('1:2:3', PASSWD, GROUP), { message: 'invalid user "1:2:3": expected USER[:GROUP]' });
  t.throws(() => resolveUser('99999999999', PASSWD, GROUP), { message: /uid 99999999999 out of range/ });
});

t.test('a relative working directory is refused', async (t) => {
  t.throws(() => buildSpec(base({ workdir: 'srv' })), { code: 'invalid-argument', message: 'the working directory "srv" is invalid, it needs to be an absolute path' });
});

t.test('capabilities: drop then add, as docker and the kubelet; unknown names refused', async (t) => {
  const { effectiveCapabilities, DEFAULT_CAPABILITIES, ALL_CAPABILITIES } = await import('../../agent/runtime/spec');
  t.same(effectiveCapabilities([], []), DEFAULT_CAPABILITIES);
  t.same(effectiveCapabilities([], ['ALL']), []);
  t.same(effectiveCapabilities(['NET_BIND_SERVICE'], ['all']), ['CAP_NET_BIND_SERVICE'], 'drop ALL, add one back (restricted\'s only allowance)');
  t.same(effectiveCapabilities(['net_admin'], ['CAP_NET_RAW', 'MKNOD']), [...DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_NET_RAW' && c !== 'CAP_MKNOD'), 'CAP_NET_ADMIN']);
  t.same(effectiveCapabilities(['ALL'], []), ALL_CAPABILITIES);
  t.throws(() => effectiveCapabilities(['NET_WIZARD'], []), { code: 'invalid-argument', message: 'unknown capability "NET_WIZARD"' });
});

t.test('privileged: the host\'s capabilities and devices, no filter, nothing masked, /sys writable', async (t) => {
  const device = { path: '/dev/fuse', type: 'c' as const, major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 };
  const spec = buildSpec(base({ security: { seccomp: { type: 'runtime-default' }, noNewPrivileges: false, privileged: true, apparmorProfile: 'berth-default' }, privilegedHost: { devices: [device], capabilities: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] } }));
  t.ok(validate(spec), 'valid');
  const linux = spec.linux as Record<string, unknown>;
  const proc = spec.process as { capabilities: Record<string, string[]>; apparmorProfile?: string };
  t.same(proc.capabilities.bounding, ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN']);
  t.equal(proc.apparmorProfile, undefined, 'no AppArmor profile');
  t.equal(linux.seccomp, undefined, 'no seccomp filter');
  t.equal(linux.maskedPaths, undefined);
  t.equal(linux.readonlyPaths, undefined);
  t.same(linux.devices, [device]);
  t.same((linux.resources as { devices: unknown[] }).devices, [{ allow: true, access: 'rwm' }]);
  const sys = (spec.mounts as Array<{ destination: string; options: string[] }>).filter((m) => m.destination.startsWith('/sys'));
  t.ok(sys.every((m) => !m.options.includes('ro')), '/sys and its cgroup mount writable');
  t.throws(() => buildSpec(base({ security: { seccomp: { type: 'runtime-default' }, noNewPrivileges: false, privileged: true } })), { code: 'internal' });
  const named = buildSpec(base({ security: { seccomp: { type: 'runtime-default' }, noNewPrivileges: false, privileged: true, apparmorProfile: 'k8s-deny-write', apparmorExplicit: true }, privilegedHost: { devices: [], capabilities: [] } }));
  t.equal((named.process as { apparmorProfile?: string }).apparmorProfile, 'k8s-deny-write', 'a profile asked for by name stays, privileged or not');
});

t.test('the host side of privileged: device nodes under /dev but the per-container ones, capabilities from a mask', async (t) => {
  const dir = t.testdir({ pts: {}, dri: {} });
  const mknod = (p: string, type: string, major: number, minor: number) => spawnSync('mknod', [path.join(dir, p), type, String(major), String(minor)]).status;
  t.equal(mknod('null', 'c', 1, 3), 0);
  t.equal(mknod('pts/0', 'c', 136, 0), 0);
  t.equal(mknod('dri/card0', 'c', 226, 0), 0);
  t.equal(mknod('loop9', 'b', 7, 9), 0);
  fs.writeFileSync(path.join(dir, 'plain'), 'x');
  t.same(hostDevices(dir).map((d) => [path.relative(dir, d.path), d.type, d.major, d.minor]).sort(), [['dri/card0', 'c', 226, 0], ['loop9', 'b', 7, 9], ['null', 'c', 1, 3]]);
  // Docker's default set: chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap.
  t.same(capabilitiesOfMask('00000000a80425fb').sort(), [...DEFAULT_CAPABILITIES].sort());
  t.same(capabilitiesOfMask('0'), []);
});

t.test('supplementalGroupsPolicy Strict and recursive read-only volumes', async (t) => {
  const user = (over: Partial<SpecInput>) => (buildSpec(base(over)).process as { user: { additionalGids?: number[] } }).user;
  t.same(user({ groupAdd: [4000] }).additionalGids, [4, 29, 4000], 'Merge: the image\'s groups for the user, then the pod\'s');
  t.same(user({ groupAdd: [4000], strictGroups: true }).additionalGids, [4000], 'Strict: only the pod\'s');
  t.same(user({ strictGroups: true }).additionalGids, undefined, 'Strict without groups: the user\'s own group only');
  const mounts = (volumes: SpecInput['volumes']) => (buildSpec(base({ volumes })).mounts as Array<{ destination: string; options?: string[] }>).at(-1)!.options;
  t.same(mounts([{ source: '/data', destination: '/data', readonly: true, recursiveReadonly: true }]), ['rbind', 'rprivate', 'rro']);
  t.same(mounts([{ source: '/data', destination: '/data', readonly: true }]), ['rbind', 'rprivate', 'ro']);
  t.ok(validate(buildSpec(base({ volumes: [{ source: '/data', destination: '/data', readonly: true, recursiveReadonly: true }] }))), 'still a valid spec');
});
