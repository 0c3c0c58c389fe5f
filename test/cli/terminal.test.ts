// A terminal in the container, driven from a real pseudo-terminal (test/fixtures/pty-driver.py)
// as a user types: run -it gives a shell whose prompt, echo and line editing are the container's;
// the window size follows the client's; ctrl-p ctrl-q detaches and attach comes back; exec -it
// opens a second shell; exit codes pass through; -i without -t streams stdin. And cp, both ways,
// a running container's bind mounts included.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { CLI, startTestAgent } from '../fixtures/agent';
import { onTerminal, type TerminalStep } from '../fixtures/terminal';
import { buildImage, fullBusyboxLayer, pushImage } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';

type Agent = Awaited<ReturnType<typeof startTestAgent>>;
let agent: Agent;
let image = '';

const berthOnTerminal = (args: string[], steps: TerminalStep[]) => onTerminal([process.execPath, CLI, '--agent', agent.socket, ...args], steps);

t.before(async () => {
  const registry = await startRegistry(t);
  const built = await buildImage({ layers: [fullBusyboxLayer()], config: { config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] } } });
  await pushImage(registry.host, 'lib/busybox:1', built);
  image = `${registry.host}/lib/busybox:1`;
  agent = await startTestAgent(t, t.testdir());
  const pull = agent.berth(['pull', image]);
  if (pull.status !== 0) throw new Error(pull.stderr);
});

t.test('run -it: a shell on a terminal, its size following the client, ctrl-p ctrl-q, attach, exit code', async (t) => {
  const first = await berthOnTerminal(['run', '-it', '--name', 'shell', '--network', 'none', image, 'sh'], [
    ['expect', '/ # ', 20],
    ['send', 'echo hello-$((6*7))\r'],
    ['expect', 'hello-42', 10],
    ['send', 'tty; stty size\r'],
    ['expect', '/dev/pts/\\d+\\r*\\n24 80', 10],
    ['resize', 30, 100],
    ['sleep', 0.5],
    ['send', 'stty size\r'],
    ['expect', '30 100', 10],
    ['send', 'echo $TERM\r'],
    ['expect', 'xterm', 10],
    // ctrl-p ctrl-q: leave the shell running.
    ['send', '\x10\x11'],
  ]);
  t.equal(first.failed, null, first.transcript);
  t.equal(first.status, 0, 'detaching exits 0');
  t.match(first.transcript, /echo hello-\$\(\(6\*7\)\)\r+\n/, 'what is typed is echoed by the container\'s terminal');
  const ps = agent.berth(['ps', '--filter', 'name=shell']);
  t.match(ps.stdout, /shell/, 'the container goes on after a detach');

  const again = await berthOnTerminal(['attach', 'shell'], [
    ['send', '\r'],
    ['expect', '/ # ', 10],
    ['send', 'exit 3\r'],
  ]);
  t.equal(again.failed, null, again.transcript);
  t.equal(again.status, 3, 'the exit code of the shell passes through attach');
  t.match(agent.berth(['inspect', '-f', '{{.State.Status}}', 'shell']).stdout + agent.berth(['ps', '-a', '--filter', 'name=shell']).stdout, /Exited \(3\)|exited/);
  t.equal(agent.berth(['rm', 'shell']).status, 0);
});

t.test('run -it: the exit code of the shell is run\'s', async (t) => {
  const session = await berthOnTerminal(['run', '-it', '--rm', '--network', 'none', image, 'sh'], [
    ['expect', '/ # ', 20],
    ['send', 'exit 4\r'],
  ]);
  t.equal(session.failed, null, session.transcript);
  t.equal(session.status, 4);
});

t.test('exec -it: a second shell in a running container', async (t) => {
  const started = agent.berth(['run', '-d', '--name', 'server', '--network', 'none', image, 'sleep', '300']);
  t.equal(started.status, 0, started.stderr);
  const session = await berthOnTerminal(['exec', '-it', 'server', 'sh'], [
    ['expect', '/ # ', 20],
    ['send', 'tty && stty size\r'],
    ['expect', '/dev/pts/\\d+\\r*\\n24 80', 10],
    ['resize', 40, 120],
    ['sleep', 0.5],
    ['send', 'stty size\r'],
    ['expect', '40 120', 10],
    ['send', 'exit 5\r'],
  ]);
  t.equal(session.failed, null, session.transcript);
  t.equal(session.status, 5, 'exec -it passes the exit code through');
  // A command that writes much and ends at once: its terminal is read to the end, not cut.
  const burst = agent.berth(['exec', '-t', 'server', 'seq', '1', '40000']);
  t.equal(burst.status, 0, burst.stderr);
  const lines = burst.stdout.split(/\r?\n/).filter((l) => l !== '');
  t.equal(lines.length, 40000, 'every line of a burst');
  t.equal(lines.at(-1), '40000', 'up to the last');
  t.equal(agent.berth(['rm', '-f', 'server']).status, 0);
});

t.test('-i without -t: stdin streamed, its end closes the container\'s stdin', async (t) => {
  const r = agent.berth(['run', '-i', '--rm', '--network', 'none', image, 'sh', '-c', 'tr a-z A-Z; echo done; exit 4'], { input: 'hello\nworld\n' });
  t.equal(r.stdout, 'HELLO\nWORLD\ndone\n');
  t.equal(r.status, 4);
  const missing = agent.berth(['run', '-i', '--network', 'none', image, 'no-such-command'], { input: '' });
  t.equal(missing.status, 127, 'a command that does not exist: 127, as docker');
  t.match(missing.stderr, /no-such-command/);
  const noTty = agent.berth(['run', '-it', '--rm', image, 'sh'], { input: '' });
  t.equal(noTty.status, 1);
  t.match(noTty.stderr, /the input device is not a TTY/);
});

t.test('cp: files in and out of running and stopped containers, docker\'s destination rules', async (t) => {
  const dir = t.testdir({ 'notes.txt': 'local notes\n', tree: { 'a.txt': 'A', sub: { 'b.txt': 'B' } } });
  t.equal(agent.berth(['create', '--name', 'box', '--network', 'none', image, 'sleep', '300']).status, 0);
  // Into a container that has never run: a file into a directory, a file renamed, a tree.
  t.same(agent.berth(['cp', path.join(dir, 'notes.txt'), 'box:/tmp']), { status: 0, stdout: '', stderr: '' });
  t.equal(agent.berth(['cp', path.join(dir, 'notes.txt'), 'box:/etc/renamed.txt']).status, 0);
  t.equal(agent.berth(['cp', path.join(dir, 'tree'), 'box:/srv']).status, 0);
  t.equal(agent.berth(['start', 'box']).status, 0);
  const inside = agent.berth(['exec', 'box', 'sh', '-c', 'cat /tmp/notes.txt /etc/renamed.txt /srv/a.txt /srv/sub/b.txt; stat -c %u:%g /srv/a.txt']);
  t.equal(inside.stdout, 'local notes\nlocal notes\nAB0:0\n', 'copied in, owned by root as docker cp does');
  // Out of the running container: a file to a new name, a directory into an existing one, a tar on stdout.
  t.equal(agent.berth(['exec', 'box', 'sh', '-c', 'mkdir -p /data/deep && echo made-inside > /data/deep/x.txt && ln -s /etc/passwd /data/link']).status, 0);
  const out = path.join(dir, 'out');
  const copied = agent.berth(['cp', 'box:/data/deep/x.txt', `${out}.txt`]);
  t.equal(copied.status, 0, copied.stderr);
  t.equal(fs.readFileSync(`${out}.txt`, 'utf8'), 'made-inside\n');
  fs.mkdirSync(out);
  t.equal(agent.berth(['cp', 'box:/data', out]).status, 0);
  t.equal(fs.readFileSync(path.join(out, 'data', 'deep', 'x.txt'), 'utf8'), 'made-inside\n');
  t.equal(fs.readlinkSync(path.join(out, 'data', 'link')), '/etc/passwd', 'a symlink is copied as a symlink, never followed on the host');
  const tar = agent.berth(['cp', 'box:/data/deep', '-']);
  t.equal(tar.status, 0);
  t.match(tar.stdout, /deep\/x\.txt/, 'a tar on stdout');
  // A symlink in the container pointing at the host's /etc: reading through it stays in the container.
  t.equal(agent.berth(['exec', 'box', 'sh', '-c', 'ln -s /etc /hostetc']).status, 0);
  t.equal(agent.berth(['cp', 'box:/hostetc/renamed.txt', path.join(dir, 'via-link.txt')]).status, 0);
  t.equal(fs.readFileSync(path.join(dir, 'via-link.txt'), 'utf8'), 'local notes\n', 'resolved inside the container\'s root');
  const missing = agent.berth(['cp', 'box:/nope', dir]);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /Could not find the file \/nope in container/);
  t.equal(agent.berth(['rm', '-f', 'box']).status, 0);
});

t.test('cp: a running container\'s bind mounts are read and written as the container sees them', async (t) => {
  const dir = t.testdir({ vol: { 'from-host.txt': 'host side\n' }, 'in.txt': 'copied in\n' });
  const vol = path.join(dir, 'vol');
  t.equal(agent.berth(['run', '-d', '--name', 'mounted', '--network', 'none', '-v', `${vol}:/data/vol`, image, 'sleep', '300']).status, 0);
  t.teardown(() => agent.berth(['rm', '-f', 'mounted']));
  const into = agent.berth(['cp', path.join(dir, 'in.txt'), 'mounted:/data/vol/']);
  t.equal(into.status, 0, into.stderr);
  t.equal(fs.readFileSync(path.join(vol, 'in.txt'), 'utf8'), 'copied in\n', 'written through the bind mount to the host directory');
  t.equal(agent.berth(['exec', 'mounted', 'cat', '/data/vol/in.txt']).stdout, 'copied in\n', 'the container sees it');
  const out = path.join(dir, 'out.txt');
  t.equal(agent.berth(['cp', 'mounted:/data/vol/from-host.txt', out]).status, 0);
  t.equal(fs.readFileSync(out, 'utf8'), 'host side\n', 'read from the bind mount');
  // The whole root: the bind mount's files in it; the kernel's filesystems only as mount points.
  const all = spawnSync(process.execPath, [CLI, '--agent', agent.socket, 'cp', 'mounted:/', '-'], { maxBuffer: 256 * 1024 * 1024 });
  t.equal(all.status, 0, all.stderr.toString());
  const names = execFileSync('tar', ['-tf', '-'], { input: all.stdout, maxBuffer: 64 * 1024 * 1024 }).toString().split('\n');
  t.ok(names.includes('./data/vol/from-host.txt'), 'the volume\'s files are in the root\'s archive');
  t.ok(names.includes('./proc/') && !names.some((n) => n.startsWith('./proc/1')), '/proc is an empty mount point in it');
  t.notOk(names.some((n) => n.startsWith('./sys/') && n !== './sys/'), '/sys too');

  // Stopped: its volumes are mounted for the copy (as docker does), then unmounted again.
  t.equal(agent.berth(['stop', '-t', '0', 'mounted']).status, 0);
  fs.writeFileSync(path.join(dir, 'later.txt'), 'while stopped\n');
  const stoppedInto = agent.berth(['cp', path.join(dir, 'later.txt'), 'mounted:/data/vol/']);
  t.equal(stoppedInto.status, 0, stoppedInto.stderr);
  t.equal(fs.readFileSync(path.join(vol, 'later.txt'), 'utf8'), 'while stopped\n', 'written to the volume of a stopped container');
  t.equal(agent.berth(['cp', 'mounted:/data/vol/from-host.txt', path.join(dir, 'stopped-out.txt')]).status, 0);
  t.equal(fs.readFileSync(path.join(dir, 'stopped-out.txt'), 'utf8'), 'host side\n', 'read from it');
  t.notOk(fs.readFileSync('/proc/mounts', 'utf8').includes(`${agent.dataRoot}/`), 'nothing of the container left mounted');
  t.equal(agent.berth(['start', 'mounted']).status, 0, 'it starts again');
  t.equal(agent.berth(['exec', 'mounted', 'cat', '/data/vol/later.txt']).stdout, 'while stopped\n');

  // A mount point that is a symlink in the image is followed inside the root, as runc follows it.
  fs.mkdirSync(path.join(dir, 'linkctx'));
  fs.writeFileSync(path.join(dir, 'linkctx', 'Dockerfile'), `FROM ${image}\nRUN mkdir /real && ln -s /real /link\n`);
  t.equal(agent.berth(['build', '-q', '-t', 'linked:1', path.join(dir, 'linkctx')]).status, 0);
  const linkedVol = path.join(dir, 'linked-vol');
  fs.mkdirSync(linkedVol);
  t.equal(agent.berth(['create', '--name', 'linked', '--network', 'none', '-v', `${linkedVol}:/link`, 'linked:1', 'true']).status, 0);
  t.teardown(() => agent.berth(['rm', '-f', 'linked']));
  const viaLink = agent.berth(['cp', path.join(dir, 'later.txt'), 'linked:/real/']);
  t.equal(viaLink.status, 0, viaLink.stderr);
  t.equal(fs.readFileSync(path.join(linkedVol, 'later.txt'), 'utf8'), 'while stopped\n', 'the volume is mounted where the link leads');

  // A read-only volume stays read-only for cp, stopped or running.
  const ro = path.join(dir, 'ro');
  fs.mkdirSync(ro);
  t.equal(agent.berth(['create', '--name', 'readonly', '--network', 'none', '-v', `${ro}:/ro:ro`, image, 'sleep', '300']).status, 0);
  t.teardown(() => agent.berth(['rm', '-f', 'readonly']));
  const refused = agent.berth(['cp', path.join(dir, 'later.txt'), 'readonly:/ro/']);
  t.not(refused.status, 0, 'cp into a read-only volume fails');
  t.match(refused.stderr, /read-only|EROFS/i);
  t.same(fs.readdirSync(ro), [], 'nothing written to it');
});

t.test('attach: a client that stops reading is let go; the container, its log and stop go on', async (t) => {
  t.equal(agent.berth(['run', '-d', '--name', 'spewer', '--network', 'none', image, 'sh', '-c', 'while :; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done']).status, 0);
  t.teardown(() => agent.berth(['rm', '-f', 'spewer']));
  const client = spawn(process.execPath, [CLI, '--agent', agent.socket, 'attach', '--no-stdin', 'spewer'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => client.kill('SIGKILL'));
  let stderr = '';
  client.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => client.on('exit', resolve));
  // Attached once its output flows (a CLI starts slowly on a busy machine).
  await new Promise((resolve) => client.stdout.once('data', resolve));
  client.stdout.resume();
  client.kill('SIGSTOP'); // suspended: it reads nothing more
  await new Promise((r) => setTimeout(r, 3000));
  const id = JSON.parse(agent.berth(['inspect', 'spewer']).stdout)[0].Id as string;
  const logBefore = fs.statSync(path.join(agent.dataRoot, 'containers', id, 'container.log')).size;
  await new Promise((r) => setTimeout(r, 500));
  t.ok(fs.statSync(path.join(agent.dataRoot, 'containers', id, 'container.log')).size !== logBefore, 'the container still writes its log');
  const started = Date.now();
  const stopped = await agent.berthAsync(['stop', '-t', '1', 'spewer']);
  t.equal(stopped.status, 0, stopped.stderr);
  t.ok(Date.now() - started < 15_000, `stop is not held up by the suspended client (${Date.now() - started} ms)`);
  client.kill('SIGCONT');
  t.not(await exited, 0, 'the client was let go');
  t.match(stderr, /not reading the container's output/);
});
