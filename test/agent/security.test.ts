// Containers are confined by default, end to end: the real CLI and agent, runc under conmon. The
// default seccomp profile refuses what Docker's refuses (unshare, keyctl: EPERM), and
// --security-opt loosens or tightens it as docker's does, --privileged lifts it all; every container
// leaves the host clean.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { hostResidue, startTestAgent } from '../fixtures/agent';
import { buildImage, busyboxLayer, pushImage, type LayerEntry } from '../fixtures/images';
import { buildKeyctl } from '../fixtures/keyctl';
import { startRegistry } from '../fixtures/registry';

async function setup(t: Test) {
  const registry = await startRegistry(t);
  const dir = t.testdir();
  const keyctl = buildKeyctl(dir);
  const extra: LayerEntry[] = [
    ...['unshare', 'grep'].map((a): LayerEntry => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { path: 'bin/keyctl', type: 'file', source: keyctl, mode: 0o755 },
  ];
  const image = await buildImage({ layers: [busyboxLayer(), extra], config: { config: { Cmd: ['sh'] } } });
  await pushImage(registry.host, 'guarded:1', image);
  const agent = await startTestAgent(t, dir);
  const ref = `${registry.host}/guarded:1`;
  const pulled = agent.berth(['pull', '-q', ref]);
  if (pulled.status !== 0) throw new Error(pulled.stderr);
  return { agent, ref, dir, b: (...args: string[]) => agent.berthAsync(args) };
}

/** The lines of /proc/self/status that say how a process is confined. */
const confinement = (status: string) => status.split('\n').filter((l) => /^(NoNewPrivs|Seccomp):/.test(l)).join('\n');

t.test("the default profile: unshare and keyctl fail with EPERM, as under Docker's", async (t) => {
  const { agent, ref, b } = await setup(t);
  const unshare = await b('run', '--rm', ref, 'unshare', '-U', 'true');
  t.not(unshare.status, 0, 'unshare -U fails');
  t.match(unshare.stderr, /Operation not permitted/, unshare.stderr);
  const keyctl = await b('run', '--rm', ref, 'keyctl');
  t.equal(keyctl.stdout, 'keyctl errno=1 Operation not permitted\n', 'keyctl: EPERM');
  const status = await b('run', '--rm', ref, 'grep', '-E', 'NoNewPrivs|Seccomp:', '/proc/self/status');
  t.equal(confinement(status.stdout), 'NoNewPrivs:\t0\nSeccomp:\t2', 'a filter (mode 2), privileges may still be gained');
  t.equal((await b('run', '--rm', ref, 'sh', '-c', 'echo works; ls / > /dev/null')).stdout, 'works\n', 'ordinary work is untouched');

  // A process exec'd into the container is under the same filter.
  t.equal((await b('run', '-d', '--name', 'guarded', ref, 'sleep', '600')).status, 0);
  const exec = await b('exec', 'guarded', 'keyctl');
  t.equal(exec.stdout, 'keyctl errno=1 Operation not permitted\n', 'exec: the same filter');
  const doc = JSON.parse((await b('inspect', 'guarded')).stdout)[0];
  t.equal(doc.HostConfig.SecurityOpt, null, 'no --security-opt: SecurityOpt null, as docker shows it');
  t.equal(doc.AppArmorProfile, '', 'no AppArmor on this host: no profile');
  t.equal((await b('rm', '-f', 'guarded')).status, 0);
  t.same(hostResidue(agent), [], 'nothing left on the host');
});

t.test('--security-opt: seccomp=unconfined, a profile file, no-new-privileges', async (t) => {
  const { agent, ref, dir, b } = await setup(t);
  const unconfined = await b('run', '--rm', '--security-opt', 'seccomp=unconfined', ref, 'sh', '-c', 'unshare -U true && echo unshared; grep Seccomp: /proc/self/status');
  t.equal(unconfined.status, 0, unconfined.stderr);
  t.equal(unconfined.stdout, 'unshared\nSeccomp:\t0\n', 'no filter: a user namespace can be made');

  // Everything allowed but keyctl, which answers ENOSYS: the profile is the user's, not the default.
  const profile = path.join(dir, 'no-keys.json');
  fs.writeFileSync(profile, JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }],
    syscalls: [{ names: ['keyctl', 'add_key', 'request_key'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }],
  }, null, 2));
  const own = await b('run', '--rm', '--security-opt', `seccomp=${profile}`, ref, 'sh', '-c', 'keyctl; unshare -U true && echo unshared');
  t.equal(own.stdout, 'keyctl errno=38 Function not implemented\nunshared\n', own.stderr);

  const nnp = await b('run', '-d', '--name', 'nnp', '--security-opt', 'no-new-privileges', '--security-opt', 'seccomp=unconfined', ref, 'sleep', '600');
  t.equal(nnp.status, 0, nnp.stderr);
  const status = await b('exec', 'nnp', 'grep', '-E', 'NoNewPrivs|Seccomp:', '/proc/self/status');
  t.equal(confinement(status.stdout), 'NoNewPrivs:\t1\nSeccomp:\t0');
  const doc = JSON.parse((await b('inspect', 'nnp')).stdout)[0];
  t.same(doc.HostConfig.SecurityOpt, ['no-new-privileges', 'seccomp=unconfined'], 'inspect shows the options as given');
  t.equal((await b('rm', '-f', 'nnp')).status, 0);

  const made = await b('create', '--name', 'profiled', '--security-opt', `seccomp=${profile}`, '--security-opt', 'no-new-privileges=false', ref, 'true');
  t.equal(made.status, 0, made.stderr);
  const opts = JSON.parse((await b('inspect', 'profiled')).stdout)[0].HostConfig.SecurityOpt as string[];
  t.equal(opts.length, 2);
  t.same(JSON.parse(opts[0]!.replace(/^seccomp=/, '')), JSON.parse(fs.readFileSync(profile, 'utf8')), "the profile's JSON in place of its path, as docker keeps it");
  t.equal(opts[1], 'no-new-privileges=false');
  t.equal((await b('rm', 'profiled')).status, 0);
  t.same(hostResidue(agent), [], 'nothing left on the host');
});

t.test('--privileged: the agent\'s capabilities, no filter, /sys writable, the host\'s devices', async (t) => {
  const { agent, ref, b } = await setup(t);
  const ownCaps = /^CapEff:\s*(\S+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1];
  const inside = await b('run', '--rm', '--privileged', ref, 'sh', '-c',
    'grep -E "^(CapEff|Seccomp):" /proc/self/status; mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mounted; grep " /sys " /proc/mounts | cut -d" " -f4 | cut -d, -f1; ls /dev/null /dev/loop-control 2>&1 | head -2; unshare -U true && echo unshared');
  t.equal(inside.status, 0, inside.stderr);
  t.match(inside.stdout, new RegExp(`^CapEff:\\s*${ownCaps}\nSeccomp:\\s*0\nmounted\nrw\n`), 'what the agent holds, unfiltered, may mount, /sys read-write');
  if (fs.existsSync('/dev/loop-control')) t.match(inside.stdout, /\/dev\/loop-control\n/, 'a host device is there');
  t.match(inside.stdout, /unshared\n$/);
  const plain = await b('run', '--rm', ref, 'sh', '-c', 'mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>/dev/null && echo mounted; grep " /sys " /proc/mounts | cut -d" " -f4 | cut -d, -f1; ls /dev/loop-control 2>&1');
  t.match(plain.stdout, /^ro\n.*No such file or directory/s, 'without it: no mount, /sys read-only, no host devices');
  t.equal((await b('run', '-d', '--name', 'priv', '--privileged', ref, 'sleep', '600')).status, 0);
  t.equal(JSON.parse((await b('inspect', 'priv')).stdout)[0].HostConfig.Privileged, true);
  t.equal((await b('rm', '-f', 'priv')).status, 0);
  t.same(hostResidue(agent), [], 'nothing left on the host');
});

t.test('--pid host and --ipc host: the host\'s namespaces; without them the container\'s own', async (t) => {
  const { agent, ref, b } = await setup(t);
  const ns = (kind: string) => fs.readlinkSync(`/proc/self/ns/${kind}`);
  const shared = await b('run', '--rm', '--pid', 'host', '--ipc', 'host', ref, 'sh', '-c', 'busybox readlink /proc/self/ns/pid; busybox readlink /proc/self/ns/ipc');
  t.equal(shared.status, 0, shared.stderr);
  t.equal(shared.stdout, `${ns('pid')}\n${ns('ipc')}\n`, "the host's PID and IPC namespaces");
  const own = await b('run', '--rm', ref, 'sh', '-c', 'busybox readlink /proc/self/ns/pid; busybox readlink /proc/self/ns/ipc');
  t.not(own.stdout.split('\n')[0], ns('pid'));
  t.not(own.stdout.split('\n')[1], ns('ipc'));
  const bad = await b('run', '--rm', '--pid', 'container:x', ref, 'true');
  t.equal(bad.status, 125);
  t.match(bad.stderr, /invalid --pid "container:x": berth supports only "host"/);
  t.same(hostResidue(agent), [], 'nothing left on the host');
});

t.test('bad --security-opt values fail before anything is made, naming the value', async (t) => {
  const { agent, ref, dir, b } = await setup(t);
  fs.writeFileSync(path.join(dir, 'broken.json'), '{"defaultAction": ');
  fs.writeFileSync(path.join(dir, 'wrong.json'), '{"defaultAction": "SCMP_ACT_PERHAPS"}');
  const cases: Array<[string, RegExp]> = [
    ['seccomp=/no/such/profile.json', /^Error: invalid --security-opt "seccomp=\/no\/such\/profile\.json": cannot read the seccomp profile \/no\/such\/profile\.json: ENOENT\n$/],
    [`seccomp=${dir}/broken.json`, /^Error: invalid --security-opt "seccomp=.*\/broken\.json": the seccomp profile .*\/broken\.json is not JSON/],
    [`seccomp=${dir}/wrong.json`, /^Error: invalid --security-opt "seccomp=.*\/wrong\.json": invalid seccomp profile: defaultAction: "SCMP_ACT_PERHAPS" is not one of/],
    ['seccomp=', /^Error: invalid --security-opt "seccomp=": expected seccomp=unconfined or seccomp=PROFILE\.json\n$/],
    ['no-new-privileges=sometimes', /^Error: invalid --security-opt "no-new-privileges=sometimes": no-new-privileges takes true or false\n$/],
    ['apparmor=unconfined', /^Error: invalid --security-opt "apparmor=unconfined": apparmor options are not supported by berth/],
    ['privileged', /^Error: invalid --security-opt "privileged": expected seccomp=unconfined, seccomp=PROFILE\.json or no-new-privileges\[=true\|false\]\n$/],
  ];
  for (const [opt, message] of cases) {
    const r = await b('run', '--rm', '--security-opt', opt, ref, 'true');
    t.not(r.status, 0, `--security-opt ${opt} fails`);
    t.match(r.stderr, message, opt);
  }
  t.equal((await b('ps', '-aq')).stdout, '', 'no container was made');
  t.same(hostResidue(agent), []);
});

t.test("another user of the host reads nothing of the data root: not its listing, not an image's blobs", async (t) => {
  // A data root made before with looser modes is tightened when the agent opens it. Under /tmp
  // (every user may traverse it), in a directory of this test's that others may traverse too.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-perms-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'agent-root', 'content', 'blobs', 'sha256'), { recursive: true, mode: 0o755 });
  fs.chmodSync(path.join(dir, 'agent-root'), 0o755);
  fs.chmodSync(path.join(dir, 'agent-root', 'content'), 0o755);
  const registry = await startRegistry(t);
  const image = await buildImage({ layers: [[{ path: 'secret', type: 'file', content: 'private layer\n' }]] });
  await pushImage(registry.host, 'private:1', image);
  const agent = await startTestAgent(t, dir);
  t.equal(agent.berth(['pull', '-q', `${registry.host}/private:1`]).status, 0);
  const mode = (p: string) => (fs.statSync(path.join(agent.dataRoot, p)).mode & 0o777).toString(8);
  t.equal(mode('.'), '711', 'the data root: others may pass, not list');
  t.equal(mode('content'), '700', 'the content store: root only');
  t.equal(mode('images.json'), '600');
  // As nobody: the data root's listing and the blobs are out of reach.
  const asNobody = (...cmd: string[]) => spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', ...cmd], { encoding: 'utf8' });
  t.equal(asNobody('ls', dir).status, 0, 'the directory above is open to nobody (so what fails below is the data root)');
  const blob = path.join(agent.dataRoot, 'content', 'blobs', 'sha256', image.config.descriptor.digest.slice('sha256:'.length));
  t.ok(fs.existsSync(blob), 'the config blob is stored');
  t.match(asNobody('ls', agent.dataRoot).stderr, /Permission denied/);
  t.match(asNobody('cat', blob).stderr, /Permission denied/);
  t.match(asNobody('cat', path.join(agent.dataRoot, 'images.json')).stderr, /Permission denied/);
});
