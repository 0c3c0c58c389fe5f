// docker's pause and unpause, end to end (the real CLI and agent, runc, the cgroup freezer): a
// paused container runs nothing until unpaused, shows as paused, refuses exec and rm, is committed
// as it stands and left paused, stays paused across an agent restart, and stop and rm -f still
// end it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { freezerState, hostResidue, startTestAgent } from '../fixtures/agent';
import { buildImage, busyboxLayer, pushImage } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { eventually } from '../fixtures/wait';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The log only grows while the container runs; the trap makes SIGTERM end it at once. */
const GROW = 'trap "exit 0" TERM; while :; do echo . >> /grow; done';

async function setup(t: Test) {
  // The registry's teardown first: the test directory goes after every other teardown.
  const registry = await startRegistry(t);
  const dir = t.testdir();
  const image = await buildImage({ layers: [busyboxLayer()] });
  await pushImage(registry.host, 'pausable:1', image);
  const agent = await startTestAgent(t, dir);
  const ref = `${registry.host}/pausable:1`;
  const pulled = await agent.berthAsync(['pull', '-q', ref]);
  if (pulled.status !== 0) throw new Error(pulled.stderr);
  return { agent, ref, dir };
}

t.test('pause, unpause and what a paused container allows', async (t) => {
  const { agent, ref, dir } = await setup(t);
  const b = (...args: string[]) => agent.berthAsync(args);
  const run = await b('run', '-d', '--name', 'p1', ref, 'sh', '-c', GROW);
  t.equal(run.status, 0, run.stderr);
  const id = run.stdout.trim();
  const grown = () => fs.statSync(path.join(agent.dataRoot, 'containers', id, 'upper', 'grow'), { throwIfNoEntry: false })?.size ?? 0;
  await eventually('the container to write', () => grown() > 0);

  const paused = await b('pause', 'p1');
  t.equal(paused.status, 0, paused.stderr);
  t.equal(paused.stdout, 'p1\n', 'prints the name as given, as docker does');
  t.equal(freezerState(agent.host, id), 'FROZEN');
  const held = grown();
  await sleep(300);
  t.equal(grown(), held, 'nothing runs while paused');
  t.match((await b('ps', '--filter', 'name=p1')).stdout, /Up .* \(Paused\)\s+p1/);
  t.match((await b('ps', '-q', '--filter', 'status=paused')).stdout, id.slice(0, 12));
  t.equal((await b('ps', '-q', '--filter', 'status=running')).stdout, '', 'a paused container is not listed as running');
  const state = JSON.parse((await b('inspect', 'p1')).stdout)[0].State;
  t.match(state, { Status: 'paused', Running: true, Paused: true });

  const again = await b('pause', 'p1');
  t.equal(again.status, 1);
  t.match(again.stderr, `Container ${id} is already paused`);
  const exec = await b('exec', 'p1', 'true');
  t.not(exec.status, 0);
  t.match(exec.stderr, `Container ${id} is paused, unpause the container before exec`);
  const rm = await b('rm', 'p1');
  t.not(rm.status, 0);
  t.match(rm.stderr, 'cannot remove a paused container: unpause and then stop the container before attempting removal or force remove');

  // A commit reads it as it stands and leaves it as the user left it.
  const commit = await b('commit', 'p1', 'paused-snap:1');
  t.equal(commit.status, 0, commit.stderr);
  t.equal(freezerState(agent.host, id), 'FROZEN', 'still paused after a commit');
  t.equal(grown(), held);

  // An agent restart adopts it paused: only a commit's freeze is undone at adoption.
  await agent.stop();
  const next = await startTestAgent(t, dir, [], agent.host);
  await sleep(300);
  t.equal(freezerState(agent.host, id), 'FROZEN', 'still paused after an agent restart');
  t.equal(grown(), held);

  const unpaused = await next.berthAsync(['unpause', 'p1']);
  t.equal(unpaused.status, 0, unpaused.stderr);
  t.equal(freezerState(agent.host, id), 'THAWED');
  await eventually('the container to write again', () => grown() > held);
  t.match((await next.berthAsync(['ps', '--filter', 'name=p1'])).stdout, /Up .*\s+p1/);
  t.notMatch((await next.berthAsync(['ps', '--filter', 'name=p1'])).stdout, /Paused/);
  const notPaused = await next.berthAsync(['unpause', 'p1', 'nope']);
  t.equal(notPaused.status, 1);
  t.match(notPaused.stderr, `Container ${id} is not paused`);
  t.match(notPaused.stderr, 'No such container: nope');

  const snap = await next.berthAsync(['run', '--rm', 'paused-snap:1', 'sh', '-c', 'test -s /grow && echo grown']);
  t.equal(snap.stdout, 'grown\n', 'the commit of the paused container holds its layer');

  t.equal((await next.berthAsync(['stop', 'p1'])).status, 0);
  const stopped = await next.berthAsync(['pause', 'p1']);
  t.equal(stopped.status, 1);
  t.match(stopped.stderr, `Container ${id} is not running`);
  t.equal((await next.berthAsync(['rm', 'p1'])).status, 0);
});

t.test('stop and rm -f end a paused container', async (t) => {
  const { agent, ref } = await setup(t);
  const b = (...args: string[]) => agent.berthAsync(args);
  for (const name of ['s1', 'r1']) {
    t.equal((await b('run', '-d', '--name', name, ref, 'sh', '-c', GROW)).status, 0);
    t.equal((await b('pause', name)).status, 0);
  }
  const started = Date.now();
  const stop = await b('stop', '-t', '20', 's1');
  t.equal(stop.status, 0, stop.stderr);
  t.ok(Date.now() - started < 10_000, 'the SIGTERM was acted on (resumed after it), not waited out');
  t.match((await b('ps', '-a', '--filter', 'name=s1')).stdout, /Exited \(0\)/, 'the trap ran');
  t.equal((await b('start', 's1')).status, 0);
  t.notMatch((await b('ps', '--filter', 'name=s1')).stdout, /Paused/, 'a new run is not paused');

  const rm = await b('rm', '-f', 'r1', 's1');
  t.equal(rm.status, 0, rm.stderr);
  t.equal((await b('ps', '-aq')).stdout, '');
  t.same(hostResidue(agent), [], 'nothing left on the host');
});
