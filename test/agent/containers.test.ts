// The container lifecycle end to end: the real CLI, a real agent, runc under conmon, overlay
// rootfs, CNI networking. The seed's walk first, then the rest, each leaving the host clean.

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { buildImage, busyboxLayer, pushImage } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { cleanTestHost, CLI, hostResidue, makeTestHost, startTestAgent } from '../fixtures/agent';
import { compileSchemaDir } from '../../agent/oci/validate';

const validateRuntimeConfig = compileSchemaDir('/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema', 'OCI runtime-spec')('config-schema.json');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** What a container leaves on the host while it exists; empty once it is gone. */

async function setup(t: Test) {
  const registry = await startRegistry(t);
  const image = await buildImage({ layers: [busyboxLayer(), [{ path: 'etc/motd', type: 'file', content: 'welcome\n' }]], config: { config: { Cmd: ['sh'], StopSignal: 'SIGTERM' } } });
  await pushImage(registry.host, 'box:1', image);
  const agent = await startTestAgent(t, t.testdir());
  const ref = `${registry.host}/box:1`;
  const pulled = agent.berth(['pull', '-q', ref]);
  if (pulled.status !== 0) throw new Error(pulled.stderr);
  const b = (...args: string[]) => agent.berthAsync(args);
  return { registry, image, agent, ref, b };
}

t.test('the seed: create, start, write, stop, restart, size, commit, run the commit, rm', async (t) => {
  const { agent, ref, image, b } = await setup(t);
  const created = await b('create', '--name', 'seed', ref, 'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done');
  t.equal(created.status, 0, created.stderr);
  const id = created.stdout.trim();
  t.match(id, /^[a-f0-9]{64}$/);
  t.match((await b('ps', '-a')).stdout, /seed/);
  t.match((await b('ps', '-a', '--filter', 'name=seed')).stdout, /Created\s+seed/);
  t.equal((await b('ps', '-q')).stdout, '', 'created is not running');

  t.equal((await b('start', 'seed')).status, 0);
  t.match((await b('ps')).stdout, /Up .*seed/);
  const before = await b('ps', '-s', '--filter', 'name=seed');
  const write = await b('exec', 'seed', 'sh', '-c', 'head -c 100000 /dev/zero > /data.bin && echo kept > /note.txt');
  t.equal(write.status, 0, write.stderr);
  const after = await b('ps', '-s', '--filter', 'name=seed');
  t.not(after.stdout, before.stdout, 'ps -s changed');
  const upper = path.join(agent.dataRoot, 'containers', id, 'upper');
  const bundleConfig = JSON.parse(fs.readFileSync(path.join(agent.dataRoot, 'containers', id, 'bundle', 'config.json'), 'utf8'));
  t.ok(validateRuntimeConfig(bundleConfig), `the bundle's config.json is a valid OCI runtime config ${JSON.stringify(validateRuntimeConfig.errors)}`);
  const stdin = spawnSync(process.execPath, [CLI, '--agent', agent.socket, 'exec', '-i', 'seed', 'sh', '-c', 'cat > /piped.txt; wc -c < /piped.txt'], { input: 'through stdin\n', encoding: 'utf8' });
  t.equal(stdin.stdout.trim(), '14', 'exec -i pipes stdin');
  const du = Number(execFileSync('du', ['-sb', upper], { encoding: 'utf8' }).split('\t')[0]);
  const doc = JSON.parse((await b('inspect', '--size', 'seed')).stdout)[0];
  t.ok(doc.SizeRw >= 100005, `size grew by the file (${doc.SizeRw})`);
  t.ok(Math.abs(doc.SizeRw - du) <= 4096 * 4, `size ${doc.SizeRw} matches du -sb ${du}`);
  t.equal(doc.SizeRootFs, doc.SizeRw + JSON.parse((await b('image', 'inspect', ref)).stdout)[0].Size, 'virtual size = writable layer + image');

  const stopped = await b('stop', 'seed');
  t.equal(stopped.status, 0, stopped.stderr);
  t.match((await b('ps', '-a', '--filter', 'name=seed')).stdout, /Exited \(0\)/, 'the trap exits 0 on SIGTERM');
  t.ok(fs.existsSync(path.join(upper, 'note.txt')), 'the writable layer stays when stopped');

  t.equal((await b('start', 'seed')).status, 0);
  t.equal((await b('exec', 'seed', 'cat', '/note.txt')).stdout, 'kept\n', 'the file survived the restart');
  t.match((await b('diff', 'seed')).stdout, /^A \/data\.bin\nA \/note\.txt\nA \/piped\.txt\n$/, 'diff shows only what the container changed');

  const committed = await b('commit', 'seed', 'seed-snap:1');
  t.equal(committed.status, 0, committed.stderr);
  const ran = await b('run', '--rm', 'seed-snap:1', 'cat', '/note.txt', '/etc/motd');
  t.equal(ran.stdout, 'kept\nwelcome\n', 'a container of the committed image sees the file');
  t.equal(ran.status, 0);

  t.equal((await b('rm', 'seed')).status, 1, 'rm of a running container needs -f');
  t.match((await b('rm', 'seed')).stderr, /container is running: stop the container before removing or force remove/);
  t.equal((await b('rm', '-f', 'seed')).status, 0);
  t.notOk(fs.existsSync(upper), 'its writable layer is gone');
  t.equal(JSON.parse((await b('image', 'inspect', ref)).stdout)[0].Id, image.config.descriptor.digest, 'the image is untouched');
  t.same(hostResidue(agent), [], 'nothing left on the host');

  // Twenty containers of one image share its layers: each adds only its writable layer.
  const snapshotsBefore = fs.readdirSync(path.join(agent.dataRoot, 'snapshots')).length;
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push((await b('create', ref, 'true')).stdout.trim());
  t.equal(fs.readdirSync(path.join(agent.dataRoot, 'snapshots')).length, snapshotsBefore, 'no new snapshot');
  const extra = ids.reduce((n, cid) => n + Number(execFileSync('du', ['-sb', path.join(agent.dataRoot, 'containers', cid)], { encoding: 'utf8' }).split('\t')[0]), 0);
  t.ok(extra < 20 * 64 * 1024, `20 containers add ${extra} bytes`);
  t.equal((await b('container', 'prune')).status, 0);
  t.equal((await b('ps', '-aq')).stdout, '');
});

t.test('exit codes, signals, logs and bad input', async (t) => {
  const { agent, ref, b } = await setup(t);

  const seven = await b('run', '--name', 'seven', ref, 'sh', '-c', 'echo out; echo err >&2; exit 7');
  t.equal(seven.status, 7, 'run exits with the container\'s code');
  t.equal(seven.stdout, 'out\n');
  t.equal(seven.stderr, 'err\n');
  t.match((await b('ps', '-a', '--filter', 'name=seven')).stdout, /Exited \(7\)/);
  const logs = await b('logs', '-t', 'seven');
  t.match(logs.stdout, /^\d{4}-\d\d-\d\dT\S+ out\n$/);
  t.match(logs.stderr, /^\d{4}-\d\d-\d\dT\S+ err\n$/);
  t.equal((await b('logs', '--tail', '0', 'seven')).stdout, '');

  const missing = await b('run', ref, 'nope-not-here');
  t.equal(missing.status, 127, 'a command that does not exist: 127');
  t.match(missing.stderr, /executable file not found|no such file/);
  const noexec = await b('run', ref, '/etc/motd');
  t.equal(noexec.status, 126, 'a file that cannot be executed: 126');
  const before = (await b('ps', '-aq')).stdout;
  const rmMissing = await b('run', '--rm', ref, 'nope-not-here');
  t.equal(rmMissing.status, 127);
  t.equal((await b('ps', '-aq')).stdout, before, 'run --rm of a command that cannot run leaves no container');

  const cases: Array<[string[], RegExp]> = [
    [['run', '--name', 'seven', ref, 'true'], /The container name "\/seven" is already in use/],
    [['run', '--memory', '1k', ref, 'true'], /invalid memory limit "1k": the minimum is 6MB/],
    [['run', '--cpus', 'lots', ref, 'true'], /invalid --cpus "lots"/],
    [['run', '-p', '80', ref, 'true'], /invalid port specification "80"/],
    [['run', '-p', '99999:80', ref, 'true'], /port 99999 is out of range/],
    [['run', '-v', '/no/such/dir:/data', ref, 'true'], /host path \/no\/such\/dir does not exist/],
    [['run', '--restart', 'sometimes', ref, 'true'], /invalid restart policy "sometimes"/],
    [['run', '--network', 'mesh', ref, 'true'], /invalid --network "mesh"/],
    [['exec', 'seven', 'true'], /is not running/],
    [['run', ref.replace('box:1', 'nope:1'), 'true'], /^Error: image 127\.0\.0\.1:\d+\/nope:1: manifest unknown/],
    [['stop', 'ghost'], /No such container: ghost/],
  ];
  for (const [args, message] of cases) {
    const r = await b(...args);
    t.not(r.status, 0, `berth ${args.join(' ')} fails`);
    t.match(r.stderr, message, `berth ${args.join(' ')}`);
    t.equal(r.stderr.trim().split('\n').length, 1, 'in one line');
  }
  const df = await b('system', 'df');
  t.match(df.stdout, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+1\s+1\s+/, 'system df counts the image as in use');
  t.match(df.stdout, /\nContainers\s+\d+\s+0\s+/, 'and the stopped containers');
  const pruned = await b('system', 'prune');
  t.match(pruned.stdout, /Deleted Containers:\n[a-f0-9]{64}\n/, 'system prune removes stopped containers');
  t.equal((await b('ps', '-aq')).stdout, '', 'none left');
  t.equal((await b('images', '-q')).stdout.trim().length, 12, 'the tagged image stays');
  t.same(hostResidue(agent), [], 'no failure left anything on the host');

  // Stop: SIGTERM, the grace period, then SIGKILL for a process that ignores TERM.
  t.equal((await b('run', '-d', '--name', 'stubborn', ref, 'sleep', '1000')).status, 0);
  const t0 = Date.now();
  t.equal((await b('stop', '-t', '1', 'stubborn')).status, 0);
  t.ok(Date.now() - t0 >= 900, 'waited out the grace period');
  t.match((await b('ps', '-a', '--filter', 'name=stubborn')).stdout, /Exited \(137\)/);
  t.equal((await b('run', '-d', '--name', 'killed', ref, 'sleep', '1000')).status, 0);
  t.equal((await b('kill', '-s', 'TERM', 'killed')).status, 0);
  await sleep(300);
  t.match((await b('ps', '--filter', 'name=killed')).stdout, /Up/, 'sleep as PID 1 ignores TERM');
  t.equal((await b('kill', 'killed')).status, 0);
  await until('killed to exit', () => /Exited \(137\)/.test(agent.berth(['ps', '-a', '--filter', 'name=killed']).stdout));
  await b('rm', '-f', 'stubborn');
  await b('rm', '-f', 'killed');
  t.same(hostResidue(agent), []);
});

t.test('limits land in cgroups; volumes; env, workdir and user from the image and flags', async (t) => {
  const { agent, ref, b } = await setup(t);
  const vol = fs.mkdtempSync('/tmp/berth-vol-');
  t.teardown(() => fs.rmSync(vol, { recursive: true, force: true }));
  fs.chmodSync(vol, 0o755); // the container runs as nobody
  fs.writeFileSync(path.join(vol, 'in.txt'), 'from the host\n');
  const r = await b('run', '--name', 'lim', '-d', '--memory', '32m', '--cpus', '0.5', '--pids-limit', '50', '-v', `${vol}:/vol`, '-v', `${vol}:/ro:ro`, '-e', 'GREETING=hi', '-w', '/tmp', '-u', 'nobody', ref, 'sleep', '1000');
  t.equal(r.status, 0, r.stderr);
  const id = r.stdout.trim();
  const cg = (h: string, f: string) => fs.readFileSync(path.join('/sys/fs/cgroup', h, agent.host.cgroupParent, id, f), 'utf8').trim();
  t.equal(cg('memory', 'memory.limit_in_bytes'), String(32 * 1024 * 1024));
  t.equal(cg('pids', 'pids.max'), '50');
  t.equal(cg('cpu', 'cpu.cfs_quota_us'), '50000');
  t.equal((await b('exec', 'lim', 'cat', '/vol/in.txt')).stdout, 'from the host\n');
  t.not((await b('exec', 'lim', 'sh', '-c', 'echo x > /ro/x')).status, 0, 'a :ro volume is read-only');
  t.equal((await b('exec', 'lim', 'sh', '-c', 'echo $GREETING $(pwd) $(id -u)')).stdout, 'hi /tmp 65534\n');
  await b('rm', '-f', 'lim');
  t.same(hostResidue(agent), []);
});

t.test('networking: bridge peers reach each other, -p publishes on loopback, none and host', async (t) => {
  const { agent, ref, b } = await setup(t);
  const server = await b('run', '-d', '--name', 'srv', '-p', '18777:8080', ref, 'sh', '-c', 'while true; do echo hello | busybox nc -l -p 8080; done');
  t.equal(server.status, 0, server.stderr);
  const ip = JSON.parse((await b('inspect', 'srv')).stdout)[0].NetworkSettings.IPAddress as string;
  t.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
  const peer = await b('run', '--rm', ref, 'sh', '-c', `busybox nc ${ip} 8080 </dev/null`);
  t.equal(peer.stdout.trim(), 'hello', 'a peer on the bridge reaches it by IP');
  const fromHost = await until('the published port', () => {
    const r = spawnSync(process.execPath, ['-e', `const s=require('net').connect(18777,'127.0.0.1');let d='';s.on('data',c=>d+=c);s.on('end',()=>{process.stdout.write(d)});s.on('error',e=>{process.stdout.write('ERR '+e.code)});setTimeout(()=>process.exit(0),2000)`], { encoding: 'utf8' });
    return r.stdout.includes('hello') ? r.stdout : undefined;
  });
  t.match(fromHost, 'hello', 'the published port answers on 127.0.0.1');
  const none = await b('run', '--rm', '--network', 'none', ref, 'cat', '/proc/net/dev');
  t.same(none.stdout.split('\n').slice(2).filter(Boolean).map((l) => l.trim().split(':')[0]), ['lo'], '--network none: only loopback');
  const host = await b('run', '--rm', '--network', 'host', ref, 'cat', '/proc/net/dev');
  t.match(host.stdout, agent.host.bridge, '--network host: the host\'s interfaces');
  await b('rm', '-f', 'srv');
  t.same(hostResidue(agent), []);
});

t.test('restart policies back off; containers outlive a kill -9 of the agent', async (t) => {
  const { agent, ref, b } = await setup(t);
  t.equal((await b('run', '-d', '--name', 'flaky', '--restart', 'on-failure:3', ref, 'sh', '-c', 'echo try; exit 3')).status, 0);
  await until('three restarts', () => {
    const doc = JSON.parse(agent.berth(['inspect', 'flaky']).stdout)[0];
    return doc.State.Status === 'exited' && doc.RestartCount === 3 ? doc : undefined;
  });
  t.equal((await b('logs', 'flaky')).stdout, 'try\ntry\ntry\ntry\n', 'one log across the restarts');

  t.equal((await b('run', '-d', '--name', 'crashy', '--restart', 'always', ref, 'sh', '-c', 'exit 1')).status, 0);
  const restarting = await until('a Restarting status', () => {
    const ps = agent.berth(['ps', '--filter', 'name=crashy']).stdout;
    return /Restarting \(1\)/.test(ps) ? ps : undefined;
  });
  t.match(restarting, /Restarting \(1\)/);
  const doc = JSON.parse((await b('inspect', 'crashy')).stdout)[0];
  t.ok(doc.RestartCount >= 1, 'counted');
  t.equal((await b('stop', 'crashy')).status, 0, 'stop ends the back-off');
  t.match((await b('ps', '-a', '--filter', 'name=crashy')).stdout, /Exited \(1\)/);

  t.equal((await b('run', '-d', '--name', 'survivor', ref, 'sleep', '1000')).status, 0);
  t.equal((await b('run', '-d', '--name', 'short', ref, 'sh', '-c', 'sleep 1; exit 5')).status, 0);
  process.kill(agent.pid, 'SIGKILL');
  await sleep(1500);
  const runcList = spawnSync('runc', ['--root', path.join(agent.host.runDir, 'runc'), 'list'], { encoding: 'utf8' }).stdout;
  t.match(runcList, /running/, 'the container kept running without its agent');
  const again = await startTestAgent(t, path.dirname(agent.dataRoot), [], agent.host);
  t.match(again.berth(['ps', '--filter', 'name=survivor']).stdout, /Up/, 'the new agent adopted it');
  t.match(again.berth(['ps', '-a', '--filter', 'name=short']).stdout, /Exited \(5\)/, 'and recorded the exit that happened meanwhile');
  t.equal(again.berth(['logs', 'flaky']).stdout, 'try\ntry\ntry\ntry\n', 'and still serves the logs');
  t.equal(again.berth(['stop', '-t', '1', 'survivor']).status, 0);
  for (const name of ['flaky', 'crashy', 'survivor', 'short']) again.berth(['rm', '-f', name]);
  t.same(hostResidue(again), []);
});

t.test('another test host\'s cleanup leaves this agent\'s containers alone: their root stays mounted', async (t) => {
  // Test files run side by side (tap's jobs), each with agents on test hosts of its own. A cleanup
  // that unmounted every agent's overlays once emptied a root between its mount and `runc create`:
  // a pod running `sh -c 'exit 3'` ended with 127, "exec: sh: executable file not found".
  const { agent, ref, b } = await setup(t);
  const ran = await b('run', '-d', '--name', 'beside', ref, 'sleep', '1000');
  t.equal(ran.status, 0, ran.stderr);
  const rootfs = JSON.parse((await b('inspect', 'beside')).stdout)[0].GraphDriver.Data.MergedDir as string;
  const mounted = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === rootfs);
  t.ok(mounted() && fs.existsSync(path.join(rootfs, 'bin', 'sh')), 'the root is mounted, with the image\'s sh');

  // Another test's teardown, while this test's agent runs.
  cleanTestHost(makeTestHost(t));
  t.ok(mounted(), 'the root is still mounted');
  t.ok(fs.existsSync(path.join(rootfs, 'bin', 'sh')), 'with the image\'s sh in it, where runc would look for the command');

  t.equal((await b('rm', '-f', 'beside')).status, 0);
  t.same(hostResidue(agent), []);
});
