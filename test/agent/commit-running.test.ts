// berth commit of a running container, end to end (the real CLI and agent, runc, overlay, the
// cgroup freezer): the container is frozen while its writable layer is read and thawed after, also
// when the commit fails or the agent dies meanwhile; --pause=false leaves it running; and a
// container swapping its directories for symlinks to the host while it is committed gets nothing
// of the host into an image.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { CLI, freezerState, startTestAgent, type TestAgent, type TestHost } from '../fixtures/agent';
import { buildImage, busyboxLayer, pushImage, type LayerEntry } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { eventually } from '../fixtures/wait';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Enough random bytes in the layer that reading it takes a while (they do not compress). */
const BIG = 24 * 1024 * 1024;
/** A counter written as fast as the shell goes, each value a new file renamed over the last. */
const COUNT = 'i=0; while :; do i=$((i+1)); echo $i > /c.tmp; mv /c.tmp /counter; done';

const applets: LayerEntry[] = ['mv', 'ln', 'rm', 'mkdir', 'head', 'touch'].map((a) => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox' }));

type Agent = TestAgent & { host: TestHost };

async function setup(t: Test) {
  // The registry's teardown first: the test directory is then removed after every teardown (the
  // agent's, its containers') rather than under running containers.
  const registry = await startRegistry(t);
  const dir = t.testdir();
  const image = await buildImage({ layers: [busyboxLayer(), applets] });
  await pushImage(registry.host, 'counter:1', image);
  const agent = await startTestAgent(t, dir);
  const ref = `${registry.host}/counter:1`;
  const pulled = await agent.berthAsync(['pull', '-q', ref]);
  if (pulled.status !== 0) throw new Error(pulled.stderr);
  return { agent, ref, dir };
}

/** Start a detached container running `script`; its ID and writable layer. */
async function runDetached(t: Test, agent: Agent, ref: string, name: string, script: string) {
  const run = await agent.berthAsync(['run', '-d', '--name', name, ref, 'sh', '-c', script]);
  t.equal(run.status, 0, run.stderr);
  const id = run.stdout.trim();
  return { id, upper: path.join(agent.dataRoot, 'containers', id, 'upper') };
}

/** The counter as the container last wrote it, read from its writable layer; 0 before the first. */
function counter(upper: string): number {
  try {
    return Number(fs.readFileSync(path.join(upper, 'counter'), 'utf8'));
  } catch {
    return 0;
  }
}

/** The container counting again, past where it was. */
async function counting(upper: string): Promise<boolean> {
  const from = counter(upper);
  return eventually('the counter to advance', () => counter(upper) > from, 10_000, 20);
}

interface Sample {
  state: string;
  counter: number;
}

/** Freezer state and counter every few milliseconds until `done` settles. */
async function sampleUntil<T>(done: Promise<T>, host: TestHost, id: string, upper: string): Promise<{ result: T; samples: Sample[] }> {
  const samples: Sample[] = [];
  let settled = false;
  const result = done.finally(() => (settled = true));
  while (!settled) {
    samples.push({ state: freezerState(host, id), counter: counter(upper) });
    await sleep(5);
  }
  return { result: await result, samples };
}

// A running container is frozen while commit reads its layer, and runs on after.
t.test('frozen while read, running after', async (t) => {
  const { agent, ref } = await setup(t);
  // And a log appended to all the time: read unfrozen, it would change size under the commit.
  const { id, upper } = await runDetached(t, agent, ref, 'writer', `head -c ${BIG} /dev/urandom > /big; i=0; while :; do i=$((i+1)); echo $i > /c.tmp; mv /c.tmp /counter; echo $i >> /log; done`);
  await eventually('the writer to count', () => counter(upper) > 100, 30_000);

  const { result, samples } = await sampleUntil(agent.berthAsync(['commit', 'writer', 'frozen:1']), agent.host, id, upper);
  t.equal(result.status, 0, result.stderr);
  const frozen = samples.filter((s) => s.state === 'FROZEN');
  t.ok(frozen.length >= 3, `frozen during the commit (${frozen.length} of ${samples.length} samples)`);
  t.equal(new Set(frozen.map((s) => s.counter)).size, 1, 'the counter stood still while frozen');
  t.ok(samples.findIndex((s) => s.state === 'FROZEN') > 0 || samples[0]?.state === 'FROZEN', 'sampled from the start of the commit');

  t.equal(freezerState(agent.host, id), 'THAWED', 'thawed after the commit');
  t.ok(await counting(upper), 'the container counts on');
  t.match((await agent.berthAsync(['ps', '--filter', 'name=writer'])).stdout, /Up .*writer/);
  const image = await agent.berthAsync(['run', '--rm', 'frozen:1', 'cat', '/counter']);
  t.equal(image.status, 0, image.stderr);
  t.equal(Number(image.stdout), frozen[0]!.counter, 'the image holds the counter as it stood while frozen');
});

// A commit that fails once it has frozen the container thaws it too; a stopped container is
// committed as it is.
t.test('thawed after a failure; stopped: no freeze', async (t) => {
  const { agent, ref } = await setup(t);
  // A name no layer may carry, read after the big file: the commit fails once frozen a while.
  const { id, upper } = await runDetached(t, agent, ref, 'failing', `head -c ${BIG} /dev/urandom > /big; mkdir /zz; touch /zz/.wh.bad; ${COUNT}`);
  await eventually('the container to count', () => counter(upper) > 100, 30_000);

  const { result, samples } = await sampleUntil(agent.berthAsync(['commit', 'failing', 'never:1']), agent.host, id, upper);
  t.not(result.status, 0, 'the commit fails');
  t.match(result.stderr, /\/zz\/\.wh\.bad: a file name starting with "\.wh\." cannot be committed/);
  t.ok(samples.some((s) => s.state === 'FROZEN'), 'it had frozen the container');
  t.equal(freezerState(agent.host, id), 'THAWED', 'and thawed it when it failed');
  t.ok(await counting(upper), 'the container counts on');
  t.equal((await agent.berthAsync(['images', '-q', 'never'])).stdout, '', 'no image');

  t.equal((await agent.berthAsync(['exec', 'failing', 'rm', '/zz/.wh.bad'])).status, 0);
  t.equal((await agent.berthAsync(['stop', '-t', '1', 'failing'])).status, 0);
  const stopped = await agent.berthAsync(['commit', 'failing', 'stopped:1']);
  t.equal(stopped.status, 0, stopped.stderr);
  t.equal((await agent.berthAsync(['run', '--rm', 'stopped:1', 'cat', '/counter'])).stdout.trim(), String(counter(upper)), 'the layer as the container left it');
});

// docker's --pause=false: the container is never frozen and goes on writing during the commit.
t.test('--pause=false runs on', async (t) => {
  const { agent, ref } = await setup(t);
  const { id, upper } = await runDetached(t, agent, ref, 'busy', `head -c ${BIG} /dev/urandom > /big; ${COUNT}`);
  await eventually('the container to count', () => counter(upper) > 100, 30_000);

  const { result, samples } = await sampleUntil(agent.berthAsync(['commit', '--pause=false', 'busy', 'unfrozen:1']), agent.host, id, upper);
  t.equal(result.status, 0, result.stderr);
  t.same(samples.filter((s) => s.state !== 'THAWED'), [], `never frozen (${samples.length} samples)`);
  t.ok(new Set(samples.map((s) => s.counter)).size > 3, 'the counter went on during the commit');
  t.ok((await agent.berthAsync(['run', '--rm', 'unfrozen:1', 'cat', '/counter'])).stdout.trim() !== '', 'the image has a counter');

  const bad = await agent.berthAsync(['commit', '--pause=maybe', 'busy']);
  t.not(bad.status, 0);
  t.match(bad.stderr, /invalid argument "maybe" for "-p, --pause" flag/);
});

// A container swapping its directories for symlinks to the host, all the time, while it is
// committed unfrozen: no image gets anything of the host.
t.test('symlink swaps, live', async (t) => {
  const { agent, ref } = await setup(t);
  const SECRET = `host-secret-${randomBytes(8).toString('hex')}`;
  const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-secret-'));
  t.teardown(() => fs.rmSync(secretDir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(secretDir, 'file'), SECRET);
  fs.writeFileSync(path.join(secretDir, 'shadow'), SECRET);
  // /data and /data2 are directories of the container's own, then symlinks to a host directory
  // (absent in the container: a host path) and to /etc, then directories again, endlessly.
  const swap = [
    'mkdir /data /data2; echo layer > /data/file; echo layer > /data2/shadow',
    `while :; do mv /data /data.x; ln -s ${secretDir} /data; mv /data2 /data2.x; ln -s /etc /data2; rm /data /data2; mv /data.x /data; mv /data2.x /data2; done`,
  ].join('; ');
  const { upper } = await runDetached(t, agent, ref, 'swapper', swap);
  const kinds = new Set<string>();
  await eventually('/data to be seen both as a directory and as a symlink', () => {
    const st = fs.lstatSync(path.join(upper, 'data'), { throwIfNoEntry: false });
    if (st) kinds.add(st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'other');
    return kinds.has('symlink') && kinds.has('dir');
  }, 20_000, 1);

  // Unfrozen, so that the swaps go on while the layer is read.
  for (let i = 0; i < 8; i++) {
    const r = await agent.berthAsync(['commit', '--pause=false', 'swapper', `swapped:${i}`]);
    t.equal(r.status, 0, r.stderr);
  }
  const frozen = await agent.berthAsync(['commit', 'swapper', 'swapped:frozen']);
  t.equal(frozen.status, 0, frozen.stderr);

  const shadow = fs.existsSync('/etc/shadow') ? fs.readFileSync('/etc/shadow') : Buffer.alloc(0);
  const blobs = path.join(agent.dataRoot, 'content', 'blobs', 'sha256');
  const leaks: string[] = [];
  for (const name of fs.readdirSync(blobs)) {
    const raw = fs.readFileSync(path.join(blobs, name));
    const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
    if (bytes.includes(Buffer.from(SECRET))) leaks.push(`${name}: the host directory's files`);
    if (shadow.length > 16 && bytes.includes(shadow)) leaks.push(`${name}: the host's /etc/shadow`);
  }
  t.same(leaks, [], 'no blob of any image holds a host file');
  const images = (await agent.berthAsync(['images', '-q', 'swapped'])).stdout.trim().split('\n');
  t.equal(images.length, 9, 'nine commits, nine images');
});

// An agent killed while its commit has the container frozen: the next agent thaws it.
t.test('agent killed while frozen', async (t) => {
  const { agent, ref, dir } = await setup(t);
  const { id, upper } = await runDetached(t, agent, ref, 'orphan', `head -c ${BIG} /dev/urandom > /big; ${COUNT}`);
  await eventually('the container to count', () => counter(upper) > 100, 30_000);

  const commit = spawn(process.execPath, [CLI, '--agent', agent.socket, 'commit', 'orphan', 'lost:1'], { stdio: 'ignore' });
  t.teardown(() => void commit.kill('SIGKILL'));
  const commitExited = new Promise<number | null>((resolve) => commit.once('exit', (code) => resolve(code)));
  await eventually('the commit to freeze the container', () => freezerState(agent.host, id) === 'FROZEN', 30_000, 2);
  process.kill(agent.pid, 'SIGKILL');
  t.not(await commitExited, 0, 'the commit died with its agent');
  await sleep(300);
  t.equal(freezerState(agent.host, id), 'FROZEN', 'the container stays frozen without an agent');

  const again = await startTestAgent(t, dir, [], agent.host);
  await eventually('the next agent to thaw it', () => freezerState(agent.host, id) === 'THAWED', 20_000);
  t.ok(await counting(upper), 'the container counts on');
  t.match((await again.berthAsync(['ps', '--filter', 'name=orphan'])).stdout, /Up .*orphan/);
  const record = JSON.parse(fs.readFileSync(path.join(again.dataRoot, 'containers', id, 'container.json'), 'utf8')) as { state: Record<string, unknown> };
  t.notOk('frozenAt' in record.state, 'the freeze is no longer in its record');
});
