import t from 'tap';
import { execFileSync } from 'node:child_process';
import { buildImage, busyboxLayer, pushImage, type LayerEntry } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { startTestAgent } from '../fixtures/agent';

t.test('smoke', async (t) => {
  const registry = await startRegistry(t);
  const applets = execFileSync('busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  const base: LayerEntry[] = [...busyboxLayer().filter((e) => !(e.type === 'symlink' && e.path.startsWith('bin/'))), ...applets.map((a): LayerEntry => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox' }))];
  const image = await buildImage({ layers: [base], config: { config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] } } });
  await pushImage(registry.host, 'lib/busybox:1', image);
  const ref = `${registry.host}/lib/busybox:1`;
  const root = t.testdir({ ctx: {
    'Dockerfile': `FROM ${ref} AS base\nARG NAME=world\nENV GREETING="hello \${NAME}"\nWORKDIR /app\nCOPY . .\nRUN echo "$GREETING" > greeting && ls -la /app\nFROM base\nRUN cat /app/greeting\nCMD ["cat", "/app/greeting"]\n`,
    'a.txt': 'A',
    sub: { 'b.txt': 'B' },
    '.dockerignore': 'sub/b.txt\n',
  } });
  const dir = root + '/ctx';
  const agent = await startTestAgent(t, root);
  t.equal(agent.berth(['pull', ref]).status, 0);
  const r = agent.berth(['build', '--progress=plain', '-t', 'smoke:1', '--build-arg', 'NAME=berth', dir]);
  console.log(r.stdout, r.stderr, image.config.descriptor.digest, image.layers.map((l) => l.descriptor.digest));
  await new Promise((r) => setTimeout(r, 500));
  console.log(agent.output());
  t.equal(r.status, 0);
  const r2 = agent.berth(['build', '--progress=plain', '-t', 'smoke:1', dir]);
  console.log(r2.stdout, r2.stderr);
  const run = agent.berth(['run', '--rm', 'smoke:1']);
  console.log(run.stdout, run.stderr);
  console.log(agent.berth(['history', 'smoke:1']).stdout);
  console.log(agent.berth(['image', 'history', 'smoke:1']).stdout);
});
