// The node verbs end to end: the real CLI talking to a real agent process over its unix socket.

import t from 'tap';
import { buildImage, busyboxLayer, pushImage } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { runCli, startTestAgent } from '../fixtures/agent';

t.test('pull, images, tag, inspect, history, rmi through the CLI', async (t) => {
  const registry = await startRegistry(t, { htpasswd: { username: 'alice', password: 's3cret' } });
  const image = await buildImage({ layers: [busyboxLayer(), [{ path: 'hello.txt', type: 'file', content: 'hi\n' }]] });
  await pushImage(registry.host, 'team/hello:1.0', image, { auth: { username: 'alice', password: 's3cret' } });
  const agent = await startTestAgent(t, t.testdir());
  const ref = `${registry.host}/team/hello:1.0`;
  const id = image.config.descriptor.digest.slice(7, 19);

  const denied = agent.berth(['pull', ref]);
  t.equal(denied.status, 1, 'pull without credentials fails');
  t.match(denied.stderr, /^Error: image 127\.0\.0\.1:\d+\/team\/hello:1\.0: .*401|unauthenticated|authentication required/i);

  const badLogin = agent.berth(['login', '-u', 'alice', '-p', 'wrong', registry.host]);
  t.equal(badLogin.status, 1);
  t.match(badLogin.stderr, /^Error: /);
  const login = agent.berth(['login', '-u', 'alice', '--password-stdin', registry.host], { input: 's3cret\n' });
  t.equal(login.stdout, 'Login Succeeded\n', login.stderr);

  const pull = agent.berth(['pull', ref]);
  t.equal(pull.status, 0, pull.stderr);
  t.match(pull.stdout, new RegExp(`${image.layers[1]!.descriptor.digest.slice(7, 19)}: Pull complete`));
  t.match(pull.stdout, `Digest: ${image.manifest.descriptor.digest}`);
  t.match(pull.stdout, `Status: Downloaded newer image for ${ref}`);

  t.equal(agent.berth(['tag', ref, 'hello']).status, 0);
  const images = agent.berth(['images']);
  const lines = images.stdout.trim().split('\n');
  t.match(lines[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  t.equal(lines.length, 3, 'one row per tag');
  t.ok(lines.slice(1).every((l) => l.includes(id)), 'both tags show the one image ID');
  t.match(images.stdout, /hello\s+latest\s+/);

  const inspect = agent.berth(['image', 'inspect', 'hello']);
  t.equal(inspect.status, 0, inspect.stderr);
  const [doc] = JSON.parse(inspect.stdout) as Array<{ Id: string; RepoTags: string[] }>;
  t.equal(doc!.Id, image.config.descriptor.digest);
  t.same(doc!.RepoTags.sort(), [ref, 'hello:latest'].sort());

  const history = agent.berth(['image', 'history', 'hello']);
  t.match(history.stdout, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT/);
  t.match(history.stdout, /berth test layer 1/);

  const rmi = agent.berth(['rmi', 'hello']);
  t.equal(rmi.stdout, 'Untagged: hello:latest\n');
  const rmiAll = agent.berth(['rmi', ref]);
  t.match(rmiAll.stdout, `Untagged: ${ref}`);
  t.match(rmiAll.stdout, `Deleted: ${image.config.descriptor.digest}`);
  t.equal(agent.berth(['images', '-q']).stdout, '', 'no image left');

  const missing = agent.berth(['rmi', 'hello']);
  t.equal(missing.status, 1);
  t.match(missing.stderr, 'No such image: hello');
});

t.test('bad input gets a one-line error and a non-zero status', async (t) => {
  const registry = await startRegistry(t);
  const agent = await startTestAgent(t, t.testdir());
  const cases: Array<[string[], RegExp, number]> = [
    [['pull', 'UPPER/case'], /^Error: invalid reference "UPPER\/case": .*lowercase/, 125],
    [['pull', `${registry.host}/nothing:here`], /^Error: image 127\.0\.0\.1:\d+\/nothing:here: manifest unknown/, 1],
    [['pull', '--platform', 'linux', 'busybox'], /^Error: invalid platform "linux"/, 125],
    [['pull'], /^Error: "berth pull REF" requires an argument/, 125],
    [['images', '--bogus'], /^Error: unknown flag: --bogus/, 125],
    [['frobnicate'], /^Error: unknown command "frobnicate"/, 125],
  ];
  for (const [args, message, status] of cases) {
    const r = agent.berth(args);
    t.equal(r.status, status, `berth ${args.join(' ')} exits ${status}`);
    t.match(r.stderr, message, `berth ${args.join(' ')}`);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  }
  const nowhere = runCli(['--agent', '/nonexistent/berth.sock', 'images']);
  t.equal(nowhere.status, 1);
  t.match(nowhere.stderr, /^Error: cannot reach the agent/);
});
