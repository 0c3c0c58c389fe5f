// The OCI runtime module against the real runc and conmon: lifecycle, exit codes as docker
// reports them, logs, exec, pause, containers outliving their creator, monitor memory, OOM.
// Each container runs on its own overlay (a busybox dir below, a fresh upper dir on top) in a
// cgroup parent unique to this run; everything is torn down also when a test fails.

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { buildSpec } from '../../agent/runtime/spec';
import { cleanMessage, createOciRuntime, StartError, startExitCode, type OciRuntime, type OciRuntimeOptions } from '../../agent/runtime/oci';

const RUNC = '/usr/sbin/runc';
const CONMON = '/usr/bin/conmon';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const run = `berth-oci-${randomBytes(3).toString('hex')}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${run}-`));
const cgroupParent = `/${run}`;
const options: OciRuntimeOptions = { runc: RUNC, conmon: CONMON, root: path.join(tmp, 'runc'), stateDir: path.join(tmp, 'state'), pollMs: 200 };
const rt = createOciRuntime(options);
const mounts: string[] = [];
const nofileHard = Number(/Max open files\s+\d+\s+(\d+)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'))![1]);

// The lower layer: busybox and its applets, plus files that cannot be executed.
const lower = path.join(tmp, 'busybox');
for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp', 'adir']) fs.mkdirSync(path.join(lower, d), { recursive: true });
fs.copyFileSync('/bin/busybox', path.join(lower, 'bin/busybox'));
fs.chmodSync(path.join(lower, 'bin/busybox'), 0o755);
for (const applet of ['sh', 'echo', 'sleep', 'cat', 'true', 'false', 'id', 'head', 'tail', 'tr', 'dd', 'kill', 'ls']) fs.symlinkSync('busybox', path.join(lower, 'bin', applet));
fs.writeFileSync(path.join(lower, 'bin/noexec'), '#!/bin/sh\necho no\n', { mode: 0o644 });

let seq = 0;
const newId = (what: string) => `${run}-${what}-${seq++}`;

/** A bundle for `args`: overlay rootfs, /etc files, config.json content (written by create). */
function bundle(id: string, args: string[], limits?: { memoryBytes?: number }) {
  const dir = path.join(tmp, 'bundles', id);
  for (const d of ['upper', 'work', 'rootfs', 'etc']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${dir}/upper,workdir=${dir}/work`, `${dir}/rootfs`]);
  mounts.push(`${dir}/rootfs`);
  fs.writeFileSync(path.join(dir, 'etc/hosts'), `127.0.0.1 localhost\n127.0.0.1 ${id.slice(-12)}\n`);
  fs.writeFileSync(path.join(dir, 'etc/hostname'), `${id.slice(-12)}\n`);
  fs.writeFileSync(path.join(dir, 'etc/resolv.conf'), 'nameserver 127.0.0.1\n');
  const spec = buildSpec({
    image: { Cmd: args },
    hostname: id.slice(-12),
    rootfs: `${dir}/rootfs`,
    etcFiles: { hosts: `${dir}/etc/hosts`, hostname: `${dir}/etc/hostname`, resolvConf: `${dir}/etc/resolv.conf` },
    cgroupsPath: `${cgroupParent}/${id}`,
    nofile: { soft: 1024, hard: Math.min(1024, nofileHard) },
    limits,
  });
  return { id, bundle: dir, spec, logPath: path.join(dir, 'ctr.log') };
}

async function runContainer(runtime: OciRuntime, id: string, args: string[]) {
  const b = bundle(id, args);
  const created = await runtime.create(b);
  await runtime.start(id);
  return { ...b, ...created };
}

/** Every cgroup directory of this run's parent, in every hierarchy (deepest first). */
function cgroupDirs(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(dir, e.name));
    out.push(dir);
  };
  for (const h of fs.readdirSync('/sys/fs/cgroup')) {
    const dir = path.join('/sys/fs/cgroup', h, cgroupParent);
    if (fs.existsSync(dir)) walk(dir);
  }
  return out;
}

const conmonPidOf = (id: string) => Number(fs.readFileSync(path.join(options.stateDir, 'persist', id, 'conmon.pid'), 'utf8'));
const alive = (pid: number) => {
  const stat = fs.existsSync(`/proc/${pid}/stat`) ? fs.readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return stat !== '' && !/\) Z /.test(stat);
};

t.teardown(async () => {
  const listed = execFileSync(RUNC, ['--root', options.root, 'list', '-q'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const id of listed) await rt.delete(id, true).catch(() => execFileSync(RUNC, ['--root', options.root, 'delete', '-f', id]));
  // Monitors whose container is gone from runc (the lost-monitor test) or never got one.
  const persist = path.join(options.stateDir, 'persist');
  for (const id of fs.existsSync(persist) ? fs.readdirSync(persist) : []) {
    try { process.kill(conmonPidOf(id), 'SIGKILL'); } catch { /* gone */ }
  }
  for (const m of mounts) execFileSync('umount', ['-l', m], { stdio: 'ignore' });
  for (const dir of cgroupDirs()) {
    try { fs.rmdirSync(dir); } catch { /* busy: reported by the check below */ }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

t.test('runtime refusals map to docker\'s exit codes', async (t) => {
  const raw = 'time="2026-11-27T05:24:00Z" level=error msg="runc create failed: unable to start container process: exec: \\"/nope\\": stat /nope: no such file or directory"\n';
  t.equal(cleanMessage(raw), 'unable to start container process: exec: "/nope": stat /nope: no such file or directory');
  t.equal(startExitCode(raw, '/nope'), 127);
  t.equal(startExitCode('exec: "x": executable file not found in $PATH', 'x'), 127);
  t.equal(startExitCode('exec: "/x": permission denied', '/x'), 126);
  t.equal(startExitCode('read /x: is a directory', '/x'), 126);
  t.equal(startExitCode('mount /src: no such file or directory', '/x'), 128, 'a missing file that is not the command');
  t.equal(startExitCode('cgroup: invalid argument', '/x'), 128);
});

t.test('create, start, wait: exit code and both streams in the k8s-file log', async (t) => {
  const id = newId('exit7');
  const c = await runContainer(rt, id, ['sh', '-c', 'echo out; echo err >&2; exit 7']);
  t.ok(c.pid > 0 && c.conmonPid > 0, 'pids reported');
  const exit = await rt.waitExit(id);
  t.equal(exit.exitCode, 7);
  t.equal(exit.oomKilled, false);
  t.ok(Math.abs(Date.parse(exit.finishedAt) - Date.now()) < 10_000, 'finishedAt is now-ish');
  t.same(await rt.exitOf(id), exit, 'exitOf sees the same record');
  t.equal((await rt.state(id))?.status, 'stopped');
  const log = fs.readFileSync(c.logPath, 'utf8');
  t.match(log, /^\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d stdout F out$/m);
  t.match(log, /^\S+ stderr F err$/m);
  await sleep(100);
  t.notOk(await rt.monitorAlive(id), 'the monitor leaves once the exit is recorded');

  await rt.delete(id);
  await rt.delete(id);
  t.equal(await rt.state(id), undefined, 'delete is idempotent');
  t.equal(await rt.exitOf(id), undefined, 'the records went with it');
  t.notOk(fs.existsSync(path.join(c.bundle, 'ctl')) || fs.existsSync(path.join(c.bundle, 'winsz')), 'no fifos left in the bundle');
  t.notOk(fs.existsSync(path.join(options.stateDir, 'sockets', id)), 'no socket symlink left');

  // The same id again (a restart): a clean record, the log appended to.
  await runContainer(rt, id, ['sh', '-c', 'echo again; exit 3']);
  t.equal((await rt.waitExit(id)).exitCode, 3);
  t.match(fs.readFileSync(c.logPath, 'utf8'), /stdout F out\n(.*\n)*.* stdout F again\n/);
  await rt.delete(id);
});

t.test('a container created and never started', async (t) => {
  const id = newId('created');
  const b = bundle(id, ['echo', 'never']);
  const t0 = performance.now();
  const c = await rt.create(b);
  t.comment(`create took ${(performance.now() - t0).toFixed(1)} ms`);
  t.same(await rt.state(id), { status: 'created', pid: c.pid });
  t.equal(await rt.exitOf(id), undefined);
  t.ok(await rt.monitorAlive(id));
  const debris = [path.join(options.stateDir, 'sockets', id), path.join(b.bundle, 'ctl'), path.join(b.bundle, 'winsz')];
  t.same(debris.filter((p) => !fs.existsSync(p)), [], 'conmon made its socket link and fifos');
  const waiting = rt.waitExit(id);
  await rt.delete(id);
  t.equal(await rt.state(id), undefined, 'a created container is deleted without force');
  t.equal(fs.existsSync(b.logPath) ? fs.readFileSync(b.logPath, 'utf8') : '', '', 'it never ran');
  // Deleting kills the waiting process: the wait sees that exit, or the deletion itself.
  const ended = await waiting.then((e) => `exit ${e.exitCode}`, (e: { code?: string }) => e.code);
  t.match(ended, /^(exit \d+|not-found)$/, `a wait on a deleted container ends: ${ended}`);
  t.same(debris.filter((p) => fs.existsSync(p)), [], 'delete removed them');
  await t.rejects(rt.waitExit(id), { code: 'not-found' });
  await t.rejects(rt.start(id), { code: 'not-found' });
});

t.test('SIGTERM to a PID 1 that does not trap it does nothing; SIGKILL is 137', async (t) => {
  const id = newId('term');
  await runContainer(rt, id, ['sleep', '1000']);
  t.ok(await rt.monitorAlive(id), 'monitor alive while it runs');
  t.equal(await rt.exitOf(id), undefined, 'no exit yet');
  await rt.kill(id, 'TERM');
  await sleep(300);
  t.equal((await rt.state(id))?.status, 'running', 'still running 300 ms after TERM');
  await t.rejects(rt.delete(id), { code: 'failed-precondition' }, 'delete of a running container needs force');
  const waiting = rt.waitExit(id);
  await rt.kill(id, 'KILL');
  const exit = await waiting;
  t.equal(exit.exitCode, 137);
  await rt.kill(id, 'KILL');
  t.pass('kill of a stopped container is not an error');
  await rt.delete(id);
  await t.rejects(rt.kill(id, 'KILL'), { code: 'not-found' });
});

t.test('a shell that traps SIGTERM exits as it says (143)', async (t) => {
  const id = newId('trap');
  await runContainer(rt, id, ['sh', '-c', 'trap "exit 143" TERM; echo ready; while :; do sleep 0.05; done']);
  await sleep(200);
  await rt.kill(id, 'SIGTERM');
  t.equal((await rt.waitExit(id)).exitCode, 143);
  await rt.delete(id);
});

t.test('a command that cannot be run: 127 or 126 as docker, and nothing left behind', async (t) => {
  for (const [args, exitCode] of [[['/nope'], 127], [['nope-in-path'], 127], [['/bin/noexec'], 126], [['/adir'], 126]] as const) {
    const id = newId('bad');
    const b = bundle(id, [...args]);
    const err = await rt.create(b).then(() => undefined, (e: unknown) => e);
    t.ok(err instanceof StartError, `${args[0]}: a StartError`);
    t.equal((err as StartError).exitCode, exitCode, `${args[0]}: exit code ${exitCode}`);
    t.equal((err as StartError).code, 'invalid-argument');
    t.match((err as StartError).message, `container ${id}: unable to start container process: exec: "${args[0]}": `, 'the message names the command');
    t.comment(`${args[0]}: ${(err as StartError).message}`);
    t.equal(await rt.state(id), undefined, 'no runc state');
    t.same(cgroupDirs().filter((d) => d.endsWith(`/${id}`)), [], 'no cgroup');
    t.notOk(fs.existsSync(path.join(options.stateDir, 'persist', id)), 'no conmon records');
    t.notOk(fs.existsSync(path.join(options.stateDir, 'sockets', id)), 'no socket link');
    t.notOk(fs.existsSync(path.join(b.bundle, 'ctl')), 'no fifo');
  }
});

t.test('exec into a running container; refused for a stopped one', async (t) => {
  const id = newId('exec');
  await runContainer(rt, id, ['sleep', '1000']);
  const env = ['PATH=/bin', 'GREETING=hi'];
  const collect = async (args: string[], stdin?: NodeJS.ReadableStream, user?: { uid: number; gid: number }) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const code = await rt.exec(id, { args, env, cwd: '/tmp', user }, { stdin, onStdout: (b) => out.push(b), onStderr: (b) => err.push(b) });
    return { code, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() };
  };
  t.same(await collect(['echo', 'hi']), { code: 0, out: 'hi\n', err: '' });
  t.same(await collect(['sh', '-c', 'echo $GREETING $(pwd); echo e >&2; exit 5']), { code: 5, out: 'hi /tmp\n', err: 'e\n' });
  t.same(await collect(['cat'], Readable.from([Buffer.from('in\n')])), { code: 0, out: 'in\n', err: '' }, 'stdin piped');
  t.match(await collect(['id'], undefined, { uid: 1000, gid: 1000 }), { code: 0, out: /uid=1000 gid=1000/ });
  const missing = await collect(['nope']);
  t.equal(missing.code, 127, 'a missing command is 127');
  t.match(missing.err, /executable file not found/);
  t.equal((await collect(['/bin/noexec'])).code, 126, 'not executable is 126');

  await rt.kill(id, 'KILL');
  await rt.waitExit(id);
  await t.rejects(collect(['true']), { code: 'failed-precondition', message: `container ${id} is not running` });
  await rt.delete(id);
  await t.rejects(collect(['true']), { code: 'not-found' });
});

t.test('pause freezes every process of the container, resume thaws it', async (t) => {
  const id = newId('pause');
  const c = await runContainer(rt, id, ['sh', '-c', 'while :; do echo . >> /tmp/n; done']);
  // The file only grows while the container runs.
  const counter = () => fs.statSync(path.join(c.bundle, 'upper/tmp/n'), { throwIfNoEntry: false })?.size ?? 0;
  const freezer = path.join('/sys/fs/cgroup/freezer', cgroupParent, id, 'freezer.state');
  const state = () => (fs.existsSync(freezer) ? fs.readFileSync(freezer, 'utf8').trim() : /^frozen 1$/m.test(fs.readFileSync(path.join('/sys/fs/cgroup', cgroupParent, id, 'cgroup.events'), 'utf8')) ? 'FROZEN' : 'THAWED');
  await sleep(200);
  await rt.pause(id);
  t.equal(state(), 'FROZEN', 'the cgroup freezer holds it');
  t.equal((await rt.state(id))?.status, 'paused');
  const held = counter();
  await sleep(200);
  t.equal(counter(), held, 'nothing runs while paused');
  await t.rejects(rt.pause(id), { code: 'failed-precondition' }, 'pausing again is refused, not stacked');
  await rt.resume(id);
  t.equal(state(), 'THAWED');
  await sleep(200);
  t.ok(counter() > held, 'it runs again');
  await rt.resume(id);
  t.pass('resuming a running container does nothing');

  await rt.kill(id, 'KILL');
  await rt.waitExit(id);
  await t.rejects(rt.pause(id), { code: 'failed-precondition' }, 'a stopped container cannot be paused');
  await rt.delete(id);
  await t.rejects(rt.pause(id), { code: 'not-found' });
  await rt.resume(id);
  t.pass('resuming a container that is gone does nothing');
});

t.test('containers outlive the process that created them; a new runtime adopts them', async (t) => {
  const id = newId('adopt');
  const b = bundle(id, ['sh', '-c', 'echo started; sleep 1000']);
  // A separate node process creates and starts it, then is killed -9 (an agent crash).
  const code = `
    const { createOciRuntime } = require(${JSON.stringify(path.resolve(__dirname, '../../agent/runtime/oci'))});
    const rt = createOciRuntime(${JSON.stringify(options)});
    const b = ${JSON.stringify(b)};
    rt.create(b).then(async (c) => { await rt.start(b.id); console.log(JSON.stringify(c)); setInterval(() => {}, 1000); });
  `;
  // The same TypeScript loader this test runs under, so the child can require the .ts module.
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
  const agent = spawn(process.execPath, [...loader, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const created = await new Promise<{ pid: number; conmonPid: number }>((resolve, reject) => {
    agent.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as { pid: number; conmonPid: number }));
    agent.once('exit', (c) => reject(new Error(`creator exited ${c}`)));
  });
  const ppid = Number(fs.readFileSync(`/proc/${created.conmonPid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
  t.not(ppid, agent.pid, 'the monitor is not a child of its creator');
  agent.kill('SIGKILL');
  await new Promise((r) => agent.once('exit', r));
  await sleep(200);

  const adopter = createOciRuntime(options);
  t.equal((await adopter.state(id))?.status, 'running', 'still running after the creator died');
  t.ok(await adopter.monitorAlive(id), 'its monitor too');
  t.ok(alive(created.pid), 'the process is the one created');
  const waiting = adopter.waitExit(id);
  await adopter.kill(id, 'KILL');
  const exit = await waiting;
  t.equal(exit.exitCode, 137, 'the new runtime sees the exit');
  t.match(fs.readFileSync(b.logPath, 'utf8'), /stdout F started/);
  await adopter.delete(id);
});

t.test('a monitor killed -9: no exit record, reported as lost once the process is gone', async (t) => {
  const id = newId('lost');
  const c = await runContainer(rt, id, ['sleep', '1000']);
  process.kill(c.conmonPid, 'SIGKILL');
  await sleep(100);
  t.notOk(await rt.monitorAlive(id), 'monitor dead');
  t.equal(await rt.exitOf(id), undefined, 'the process still runs: not exited');
  const waiting = rt.waitExit(id);
  await rt.kill(id, 'KILL');
  const exit = await waiting;
  t.match(exit, { exitCode: 255, lost: true });
  await rt.delete(id);
});

t.test('waitExit can be aborted', async (t) => {
  const id = newId('abort');
  await runContainer(rt, id, ['sleep', '1000']);
  const ac = new AbortController();
  const waiting = rt.waitExit(id, ac.signal);
  setTimeout(() => ac.abort(new Error('gave up')), 100);
  await t.rejects(waiting, { message: 'gave up' });
  await rt.delete(id, true);
  t.equal(await rt.state(id), undefined, 'force delete of a running container');
});

t.test('create refuses an id that exists and ids runc would not take', async (t) => {
  const id = newId('dup');
  const b = await runContainer(rt, id, ['sleep', '1000']);
  await t.rejects(rt.create(b), { code: 'already-exists' });
  await t.rejects(rt.create({ ...b, id: '../x' }), { code: 'invalid-argument' });
  await rt.delete(id, true);
});

// What each container's monitor costs, as a bound: conmon's resident set (its shared libraries
// included) stays under a few MiB, and what it holds privately (what every further container
// adds) under one. The benchmark (test/bench/containers.ts) measures it across 100 containers.
const MONITOR_RSS_KB = 4 * 1024;
const MONITOR_PRIVATE_KB = 1024;

t.test('conmon memory per container', async (t) => {
  const ids = [0, 1, 2, 3, 4].map(() => newId('mem'));
  const pids = [];
  for (const id of ids) pids.push((await runContainer(rt, id, ['sleep', '1000'])).conmonPid);
  await sleep(200);
  for (const pid of pids) {
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0);
    const own = kb('Private_Clean') + kb('Private_Dirty');
    t.ok(rss > 0 && rss < MONITOR_RSS_KB, `conmon ${pid}: VmRSS ${rss} kB, under ${MONITOR_RSS_KB} kB`);
    t.ok(own < MONITOR_PRIVATE_KB, `conmon ${pid}: private ${own} kB (Pss ${kb('Pss')} kB), under ${MONITOR_PRIVATE_KB} kB`);
  }
  for (const id of ids) await rt.delete(id, true);
});

t.test('a container over its memory limit is OOM-killed', async (t) => {
  const id = newId('oom');
  const b = bundle(id, ['sh', '-c', 'tail /dev/zero'], { memoryBytes: 16 << 20 });
  await rt.create(b);
  await rt.start(id);
  const exit = await rt.waitExit(id);
  t.equal(exit.exitCode, 137);
  t.equal(exit.oomKilled, true);
  await rt.delete(id);
});

t.test('reopenLog: the monitor starts a new file where the log was, the renamed one keeps what came before', async (t) => {
  const id = newId('logrot');
  const b = bundle(id, ['sh', '-c', 'echo before; sleep 2; echo after']);
  await rt.create(b);
  await rt.start(id);
  while (!fs.readFileSync(b.logPath, 'utf8').includes('before')) await new Promise((r) => setTimeout(r, 20));
  fs.renameSync(b.logPath, `${b.logPath}.1`);
  await rt.reopenLog(id);
  t.equal((await rt.waitExit(id)).exitCode, 0);
  t.match(fs.readFileSync(`${b.logPath}.1`, 'utf8'), /stdout F before\n$/, 'the old file ends where it was renamed');
  t.match(fs.readFileSync(b.logPath, 'utf8'), /^\S+ stdout F after\n$/, 'the new file has what came after');
  await t.rejects(rt.reopenLog(id), { code: 'failed-precondition' }, 'no monitor: refused, not hung');
  await rt.delete(id);
});

t.test('no debris in this run\'s cgroup parent', async (t) => {
  const leaves = cgroupDirs().filter((d) => !d.endsWith(cgroupParent));
  t.same(leaves, [], 'every container cgroup removed by delete');
});
