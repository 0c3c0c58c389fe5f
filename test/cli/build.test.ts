// berth build end to end: the real CLI and a real agent (runc, overlay, the content store), a
// base image from a real registry, Dockerfiles and contexts on disk. What a user of docker build
// relies on: the image's config and history, the cache, stages, COPY/ADD's rules, heredocs,
// ONBUILD, failures that leave nothing behind, and reproducible builds.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import t from 'tap';
import { berthFs } from '../../agent/native';
import { CLI, hostResidue, startTestAgent, type TestAgent } from '../fixtures/agent';
import { buildImage, fullBusyboxLayer, pushImage } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';

type Agent = Awaited<ReturnType<typeof startTestAgent>>;

interface ImageDoc {
  Id: string;
  RepoTags: string[];
  Created: string;
  Author: string;
  Config: Record<string, unknown> & { Env?: string[]; Labels?: Record<string, string> };
  RootFS: { Layers: string[] };
}

let agent: Agent;
let base = '';
let root = '';

/** A context directory from a tree of files ({ name: content | subtree }). */
type Tree = { [name: string]: string | Tree };
function context(name: string, tree: Tree): string {
  const dir = path.join(root, name);
  const write = (at: string, node: Tree) => {
    fs.mkdirSync(at, { recursive: true });
    for (const [k, v] of Object.entries(node)) {
      if (typeof v === 'string') fs.writeFileSync(path.join(at, k), v);
      else write(path.join(at, k), v);
    }
  };
  fs.rmSync(dir, { recursive: true, force: true });
  write(dir, tree);
  return dir;
}

function build(args: string[], options?: { input?: string | Buffer; env?: NodeJS.ProcessEnv }) {
  return agent.berth(['build', '--progress=plain', ...args], options);
}

function inspect(name: string): ImageDoc {
  const r = agent.berth(['image', 'inspect', name]);
  if (r.status !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as ImageDoc[])[0]!;
}

function run(image: string, ...cmd: string[]): string {
  const r = agent.berth(['run', '--rm', '--network', 'none', image, ...cmd]);
  if (r.status !== 0) throw new Error(`run ${image} ${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The `#N` lines of a plain build log for the step whose name contains `name`, and whether it was CACHED. */
function stepOf(log: string, name: string): { id: string; cached: boolean } | undefined {
  const m = new RegExp(`^#(\\d+) (\\[[^\\]]*\\] )?${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm').exec(log);
  if (!m) return undefined;
  return { id: m[1]!, cached: new RegExp(`^#${m[1]} CACHED$`, 'm').test(log) };
}

t.before(async () => {
  const registry = await startRegistry(t);
  const layer = fullBusyboxLayer();
  const image = await buildImage({
    layers: [layer],
    config: { config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] } },
  });
  base = `${registry.host}/lib/busybox:1`;
  await pushImage(registry.host, 'lib/busybox:1', image);
  root = t.testdir({});
  agent = await startTestAgent(t, root);
  const pull = agent.berth(['pull', base]);
  if (pull.status !== 0) throw new Error(pull.stderr);
});

t.test('a Dockerfile becomes an image: config, history, tags and the container it runs', async (t) => {
  const dir = context('config', {
    Dockerfile: [
      `FROM ${base}`,
      'LABEL org.example.title="the app" version=1',
      'ARG GREETING=hello',
      'ENV APP_HOME=/srv/app \\',
      '    MESSAGE="${GREETING} from ${APP_HOME:-nowhere}"',
      'WORKDIR $APP_HOME',
      'COPY --chmod=0755 run.sh ./',
      'RUN echo "$MESSAGE" > message && id -u > built-as',
      'USER app:staff',
      'RUN id > /tmp/id-at-build',
      'EXPOSE 8080 9000-9001/udp',
      'VOLUME ["/data"]',
      'STOPSIGNAL SIGQUIT',
      'HEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD test -f message',
      'SHELL ["/bin/sh", "-eu", "-c"]',
      'ENTRYPOINT ["./run.sh"]',
      'CMD ["world"]',
      '',
    ].join('\n'),
    'run.sh': '#!/bin/sh\necho "$(cat message) and $1 ($(id -un))"\n',
  });
  const iid = path.join(root, 'config.iid');
  const r = build(['-t', 'app:1', '-t', 'app:latest', '--label', 'built-by=test', '--iidfile', iid, dir]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /#\d+ \[\d\/\d+\] FROM /);
  t.match(r.stderr, /naming to app:1/);
  const doc = inspect('app:1');
  t.equal(fs.readFileSync(iid, 'utf8'), doc.Id, '--iidfile holds the image ID');
  t.same(doc.RepoTags.sort(), ['app:1', 'app:latest']);
  const c = doc.Config;
  t.ok(doc.Config.Env!.includes('APP_HOME=/srv/app'));
  t.ok(doc.Config.Env!.includes('MESSAGE=hello from /srv/app'), 'ENV sees ARG and the ENV before it on the same line');
  t.notOk(doc.Config.Env!.some((e) => e.startsWith('GREETING=')), 'an ARG is not kept in the image');
  t.equal(c.WorkingDir, '/srv/app');
  t.equal(c.User, 'app:staff');
  t.same(c.ExposedPorts, { '8080/tcp': {}, '9000/udp': {}, '9001/udp': {} });
  t.same(c.Volumes, { '/data': {} });
  t.equal(c.StopSignal, 'SIGQUIT');
  t.same(c.Healthcheck, { Test: ['CMD-SHELL', 'test -f message'], Interval: 30e9, Timeout: 3e9, Retries: 2 });
  t.same(c.Shell, ['/bin/sh', '-eu', '-c']);
  t.same(c.Entrypoint, ['./run.sh']);
  t.same(c.Cmd, ['world']);
  t.same(c.Labels, { 'org.example.title': 'the app', version: '1', 'built-by': 'test' });

  t.equal(run('app:1'), 'hello from /srv/app and world (app)\n', 'the entrypoint runs as the USER in the WORKDIR');
  t.equal(run('app:1', 'berth'), 'hello from /srv/app and berth (app)\n');
  const built = agent.berth(['run', '--rm', '--entrypoint', 'cat', 'app:1', '/srv/app/built-as', '/tmp/id-at-build', '/srv/app/run.sh']);
  t.equal(built.status, 0, built.stderr);
  t.match(built.stdout, /^0\nuid=1000\(app\) gid=50\(staff\)/, 'RUN steps run as the USER of the moment');

  const history = agent.berth(['image', 'history', '--no-trunc', 'app:1']);
  t.equal(history.status, 0, history.stderr);
  const rows = history.stdout.split('\n').slice(1).filter(Boolean);
  t.match(rows[0], /CMD \["world"\]\s+0B/);
  t.match(history.stdout, /RUN \|1 GREETING=hello \/bin\/sh -c echo "\$MESSAGE" > message && id -u > built-as # buildkit/);
  t.match(history.stdout, /COPY --chmod=0755 run\.sh \.\/ # buildkit/);
  t.match(history.stdout, /EXPOSE map\[8080\/tcp:\{\} 9000\/udp:\{\} 9001\/udp:\{\}\]/);
  // One history row per instruction on top of the base's, layers only for the file-changing ones.
  t.equal(doc.RootFS.Layers.length, 1 + 4, 'base + WORKDIR, COPY and two RUNs');
});

t.test('the cache: unchanged steps are reused, a changed file invalidates its step and those after it, --no-cache rebuilds', async (t) => {
  const files: Tree = {
    Dockerfile: `FROM ${base}\nCOPY a.txt /a.txt\nRUN cat /proc/sys/kernel/random/uuid > /after-a\nCOPY b.txt /b.txt\nRUN cat /proc/sys/kernel/random/uuid > /after-b\n`,
    'a.txt': 'a1',
    'b.txt': 'b1',
  };
  const dir = context('cache', files);
  const first = build(['-t', 'cached:1', dir]);
  t.equal(first.status, 0, first.stderr);
  t.notOk(stepOf(first.stderr, 'COPY a.txt')!.cached, 'the first build runs every step');
  const firstId = inspect('cached:1').Id;
  const stamps = run('cached:1', 'cat', '/after-a', '/after-b');

  const again = build(['-t', 'cached:2', dir]);
  t.equal(again.status, 0, again.stderr);
  for (const step of ['COPY a.txt', 'RUN cat /proc/sys/kernel/random/uuid > /after-a', 'COPY b.txt', 'RUN cat /proc/sys/kernel/random/uuid > /after-b']) {
    t.ok(stepOf(again.stderr, step)?.cached, `${step}: cached`);
  }
  t.equal(inspect('cached:2').Id, firstId, 'an unchanged build gives the same image');

  // A new mtime alone is not a change; new content is.
  fs.utimesSync(path.join(dir, 'a.txt'), new Date(), new Date(Date.now() + 5000));
  fs.writeFileSync(path.join(dir, 'b.txt'), 'b2');
  const changed = build(['-t', 'cached:3', dir]);
  t.equal(changed.status, 0, changed.stderr);
  t.ok(stepOf(changed.stderr, 'COPY a.txt')!.cached, 'a touched file is still the same content');
  t.ok(stepOf(changed.stderr, 'RUN cat /proc/sys/kernel/random/uuid > /after-a')!.cached);
  t.notOk(stepOf(changed.stderr, 'COPY b.txt')!.cached, 'the changed file runs its step again');
  t.notOk(stepOf(changed.stderr, 'RUN cat /proc/sys/kernel/random/uuid > /after-b')!.cached, 'and the steps after it');
  const [aStamp, bStamp] = run('cached:3', 'cat', '/after-a', '/after-b').trim().split('\n');
  t.equal(aStamp, stamps.trim().split('\n')[0], 'the step before the change kept its result');
  t.not(bStamp, stamps.trim().split('\n')[1], 'the step after it ran again');
  t.equal(run('cached:3', 'cat', '/b.txt'), 'b2');

  const fresh = build(['--no-cache', '-t', 'cached:4', dir]);
  t.equal(fresh.status, 0, fresh.stderr);
  t.notMatch(fresh.stderr, /CACHED/, '--no-cache reuses nothing');
});

t.test('stages: the target builds only what it needs, independent stages run together, COPY --from a stage, an index and an image', async (t) => {
  const dir = context('stages', {
    Dockerfile: [
      `FROM ${base} AS broken`,
      'RUN echo this stage is not needed; exit 1',
      `FROM ${base} AS left`,
      'RUN sleep 1 && echo left > /left.txt',
      `FROM ${base} AS right`,
      'RUN sleep 1 && echo right > /right.txt',
      'FROM scratch AS final',
      'COPY --from=left /left.txt /',
      'COPY --from=2 /right.txt /',
      `COPY --from=${base} /bin/busybox /bin/cat`,

      'CMD ["/bin/cat", "/left.txt", "/right.txt"]',
      'FROM final AS last',
      'RUN false',
      '',
    ].join('\n'),
  });
  const r = build(['--target', 'final', '-t', 'stages:1', dir]);
  t.equal(r.status, 0, r.stderr);
  t.notMatch(r.stderr, /this stage is not needed|RUN false/, 'stages the target does not need are not built');
  const left = stepOf(r.stderr, 'RUN sleep 1 && echo left')!;
  const right = stepOf(r.stderr, 'RUN sleep 1 && echo right')!;
  const startOf = (id: string) => r.stderr.indexOf(`#${id} [`);
  const doneOf = (id: string) => r.stderr.indexOf(`#${id} DONE`);
  t.ok(startOf(right.id) < doneOf(left.id) && startOf(left.id) < doneOf(right.id), 'the two independent stages ran at the same time');
  t.equal(run('stages:1'), 'left\nright\n');
  t.equal(inspect('stages:1').RootFS.Layers.length, 3, 'a scratch stage has only its own layers');

  const missing = build(['--target', 'nope', dir]);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /target stage "nope" could not be found/);
});

t.test('a stage no image of the build has writes no layer tar; a later build that exports it writes it then', async (t) => {
  const blobs = path.join(agent.dataRoot, 'content', 'blobs', 'sha256');
  const snapshots = path.join(agent.dataRoot, 'snapshots');
  const blobSizes = () => new Map(fs.readdirSync(blobs).map((name) => [name, fs.statSync(path.join(blobs, name)).size]));
  const cacheFile = () => JSON.parse(fs.readFileSync(path.join(agent.dataRoot, 'build-cache.json'), 'utf8')) as Record<string, { layers: Array<{ unwritten?: string; chainId?: string }> }>;
  const unwrittenIds = () => new Set(Object.values(cacheFile()).flatMap((e) => e.layers.flatMap((l) => (l.unwritten ? [l.unwritten.slice('sha256:'.length)] : []))));
  // 400 KB of random bytes in the generator stage: any blob that large is that stage's layer.
  const dir = context('unwritten', {
    Dockerfile: [
      `FROM ${base} AS gen`,
      `RUN mkdir /out && head -c 400000 /dev/urandom > /out/noise && echo ${process.pid} > /out/name`,
      'RUN sha256sum /out/noise > /out/noise.sum',
      `FROM ${base} AS check`,
      'COPY --from=gen /out /out',
      'RUN cd /out && sha256sum -c noise.sum > /verdict',
      'FROM gen AS extended',
      'RUN echo more > /out/more',
      `FROM ${base}`,
      'COPY --from=gen /out/name /name',
      'COPY --from=check /verdict /verdict',
      '',
    ].join('\n'),
  });
  const before = blobSizes();
  const first = build(['-t', 'unwritten:1', dir]);
  t.equal(first.status, 0, first.stderr);
  t.equal(run('unwritten:1', 'cat', '/name', '/verdict'), `${process.pid}\n/out/noise: OK\n`, 'the image has what the stages made');
  const large = (sizes: Map<string, number>) => [...sizes].filter(([name, size]) => !before.has(name) && size >= 400000).map(([name]) => name);
  t.same(large(blobSizes()), [], 'no tar was written for the layers of the stages only COPY --from reads');
  const ids = unwrittenIds();
  t.ok(ids.size >= 3, `the cache names those layers by their snapshots (${ids.size})`);
  for (const id of ids) t.ok(fs.existsSync(path.join(snapshots, id, 'fs')), `snapshot ${id.slice(0, 12)} is kept for the cache`);

  const again = build(['-t', 'unwritten:2', dir]);
  t.equal(again.status, 0, again.stderr);
  for (const step of ['RUN mkdir /out', 'RUN sha256sum /out/noise', 'RUN cd /out && sha256sum -c']) t.ok(stepOf(again.stderr, step)?.cached, `${step}: cached from its unwritten layer`);

  // A stage FROM the generator as the target: the generator's cached layers are written now,
  // below the new one, and the image is whole (saved, run as any other).
  const extended = build(['--target', 'extended', '-t', 'extended:1', dir]);
  t.equal(extended.status, 0, extended.stderr);
  t.ok(stepOf(extended.stderr, 'RUN mkdir /out')?.cached, 'the generator\'s steps are not run again');
  t.ok(large(blobSizes()).length >= 1, 'its layer was written, for the image');
  t.equal(run('extended:1', 'sh', '-c', 'cat /out/more && cd /out && sha256sum -c noise.sum'), 'more\n/out/noise: OK\n');
  const exported = build(['--target', 'gen', '-t', 'gen:1', dir]);
  t.equal(exported.status, 0, exported.stderr);
  t.ok(stepOf(exported.stderr, 'RUN sha256sum /out/noise')?.cached, 'the generator as the target: cached from its written layers');
  t.equal(run('gen:1', 'sh', '-c', 'cat /out/name && cd /out && sha256sum -c noise.sum'), `${process.pid}\n/out/noise: OK\n`);
  const saved = spawnSync(process.execPath, [CLI, '--agent', agent.socket, 'save', 'gen:1'], { maxBuffer: 64 * 1024 * 1024 });
  t.equal(saved.status, 0, saved.stderr?.toString());
  t.ok(saved.stdout.length > 400000, 'save has the written layer');
  const nowUnwritten = unwrittenIds();
  t.ok([...ids].filter((id) => !nowUnwritten.has(id)).length >= 2, 'the cache names the written layers from then on');
  const prune = agent.berth(['builder', 'prune', '-f', '--keep-storage', '1GB']);
  t.equal(prune.status, 0, prune.stderr);
  for (const id of ids) {
    if (!nowUnwritten.has(id)) t.notOk(fs.existsSync(path.join(snapshots, id)), `the unwritten snapshot ${id.slice(0, 12)} of a written layer is collected`);
  }
  t.equal(large(blobSizes()).length, 1, 'one blob of the layer stays: the gzipped one the image names (its plain tar is collected)');
  const third = build(['-t', 'unwritten:3', dir]);
  t.equal(third.status, 0, third.stderr);
  t.ok(stepOf(third.stderr, 'RUN sha256sum /out/noise')?.cached, 'and the cache still holds');
  t.equal(run('unwritten:3', 'cat', '/verdict'), '/out/noise: OK\n');
});

t.test('RUN --mount: cache kept between builds, binds of the context and a stage, tmpfs, secrets; none of them in a layer', async (t) => {
  const secretFile = path.join(root, 'mount-secret.txt');
  fs.writeFileSync(secretFile, `s3cr3t-${process.pid}`);
  const dir = context('mounts', {
    Dockerfile: [
      `FROM ${base} AS gen`,
      'RUN echo from-gen > /made.txt',
      `FROM ${base}`,
      'WORKDIR /work',
      'RUN --mount=type=cache,id=counter,target=/var/cache/app sh -c \'echo run >> /var/cache/app/runs; wc -l < /var/cache/app/runs > /runs\'',
      'RUN --mount=type=bind,source=data,target=/in cat /in/a.txt > /from-context && test ! -e /in/ignored.txt',
      'RUN --mount=type=bind,target=ctx,rw touch ctx/written-by-run && ls ctx > /context-listing',
      'RUN --mount=from=gen,source=/made.txt,target=/mnt/made.txt cp /mnt/made.txt /from-stage',
      'RUN --mount=type=tmpfs,target=/scratch sh -c \'echo t > /scratch/t && cat /scratch/t > /from-tmpfs\'',
      'RUN --mount=type=secret,id=token,required --mount=type=secret,id=token,env=TOKEN,target=/etc/token sh -c \'test "$(cat /run/secrets/token)" = "$TOKEN" && test -s /etc/token && echo ok > /secret-seen\'',
      '',
    ].join('\n'),
    '.dockerignore': 'data/ignored.txt\n',
    data: { 'a.txt': 'context data\n', 'ignored.txt': 'must not be seen\n' },
  });
  const first = build(['--no-cache', '--secret', `id=token,src=${secretFile}`, '-t', 'mounts:1', dir]);
  t.equal(first.status, 0, first.stderr);
  t.equal(run('mounts:1', 'cat', '/runs', '/from-context', '/from-stage', '/from-tmpfs', '/secret-seen'), '1\ncontext data\nfrom-gen\nt\nok\n');
  t.equal(run('mounts:1', 'cat', '/context-listing'), 'Dockerfile\ndata\nwritten-by-run\n', 'the context bound (what .dockerignore leaves of it), writable');
  t.notOk(fs.existsSync(path.join(dir, 'written-by-run')), 'a writable bind\'s writes go nowhere');
  const absent = run('mounts:1', 'sh', '-c', 'for p in /var/cache/app /in /work/ctx /mnt /scratch /run/secrets /etc/token; do test -e $p && echo $p; done; true');
  t.equal(absent, '', 'no mount point the image lacked is left in it');
  const saved = spawnSync(process.execPath, [CLI, '--agent', agent.socket, 'save', 'mounts:1'], { maxBuffer: 256 * 1024 * 1024 });
  t.equal(saved.status, 0);
  t.notOk(saved.stdout.includes(`s3cr3t-${process.pid}`), 'the secret is in no layer');
  t.same(fs.readdirSync('/dev/shm').filter((n) => n.startsWith('berth-build-secret-')), [], 'nor left in /dev/shm');

  const second = build(['--no-cache', '--secret', `id=token,src=${secretFile}`, '-t', 'mounts:2', dir]);
  t.equal(second.status, 0, second.stderr);
  t.equal(run('mounts:2', 'cat', '/runs'), '2\n', 'the cache mount kept what the first build wrote');

  const cached = build(['--secret', `id=token,src=${secretFile}`, '-t', 'mounts:3', dir]);
  t.ok(stepOf(cached.stderr, 'RUN --mount=type=bind,source=data')?.cached, 'an unchanged bound source: cached');
  fs.writeFileSync(path.join(dir, 'data', 'a.txt'), 'changed\n');
  const changed = build(['--secret', `id=token,src=${secretFile}`, '-t', 'mounts:4', dir]);
  t.equal(changed.status, 0, changed.stderr);
  t.notOk(stepOf(changed.stderr, 'RUN --mount=type=bind,source=data')?.cached, 'a changed bound file runs the step again');
  t.equal(run('mounts:4', 'cat', '/from-context'), 'changed\n');

  // Mounts alone change nothing: no layer, though their mount points sat in existing directories.
  const quiet = build(['--no-cache', '--secret', `id=token,src=${secretFile}`, '-t', 'mounts-quiet:1', context('mounts-quiet', {
    Dockerfile: `FROM ${base}\nRUN --mount=type=secret,id=token,target=/etc/token true\nRUN --mount=type=cache,target=/usr/share/cache true\n`,
  })]);
  t.equal(quiet.status, 0, quiet.stderr);
  t.equal(inspect('mounts-quiet:1').RootFS.Layers.length, inspect(base).RootFS.Layers.length, 'no layer for steps that only used mounts');

  const cachedWithout = build(['-t', 'mounts:6', dir]);
  t.equal(cachedWithout.status, 0, `a cached step needs no secret, as in BuildKit: ${cachedWithout.stderr}`);
  const missing = build(['--no-cache', dir]);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /secret token is required by RUN --mount but the build was given none of that id/);
  const bad = build([context('mounts-bad', { Dockerfile: `FROM ${base}\nRUN --mount=type=ssh true\n` })]);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /Dockerfile:2: --mount=type=ssh: type=ssh is not supported/);
  const noFile = build(['--secret', 'id=x,src=/nonexistent/berth-secret', dir]);
  t.equal(noFile.status, 125, 'refused by the CLI, as its other bad flags');
  t.match(noFile.stderr, /--secret id=x: cannot read \/nonexistent\/berth-secret: ENOENT/);

  // Mounts inside mounts (a cache under a read-only bind of the context, in either order), and a
  // step that swaps a stub's directory for a link to the host: the stub's removal follows no link.
  const canary = fs.mkdtempSync(path.join(root, 'canary-'));
  fs.writeFileSync(path.join(canary, 'victim'), '');
  const nested = build(['--no-cache', '-t', 'mounts-nested:1', context('mounts-nested', {
    Dockerfile: [
      `FROM ${base}`,
      'RUN --mount=type=cache,id=nested,target=/src/cache --mount=type=bind,target=/src sh -c \'echo kept > /src/cache/f && cat /src/input > /seen\'',
      'RUN --mount=type=cache,id=nested,target=/c sh -c \'cat /c/f > /cached\'',
      `RUN --mount=type=bind,source=input,target=/x/victim sh -c 'mv /x /x.old && ln -s ${canary} /x'`,
      '',
    ].join('\n'),
    input: 'input\n',
  })]);
  t.equal(nested.status, 0, nested.stderr);
  t.equal(run('mounts-nested:1', 'cat', '/seen', '/cached'), 'input\nkept\n', 'the cache under the bind was the cache');
  t.ok(fs.existsSync(path.join(canary, 'victim')), 'a host file behind a planted link is left alone');

  const prune = agent.berth(['builder', 'prune', '-f']);
  t.equal(prune.status, 0, prune.stderr);
  t.same(fs.readdirSync(path.join(agent.dataRoot, 'build-mounts')), [], 'builder prune empties the cache mounts');
  const afterPrune = build(['--no-cache', '--secret', `id=token,src=${secretFile}`, '-t', 'mounts:5', dir]);
  t.equal(afterPrune.status, 0, afterPrune.stderr);
  t.equal(run('mounts:5', 'cat', '/runs'), '1\n', 'and the next build starts it afresh');
});

t.test('COPY keeps what a file is: hard links stay one file, xattrs (file capabilities) survive the copy', async (t) => {
  const dir = context('metadata', {
    Dockerfile: [
      `FROM ${base} AS linked`,
      'RUN mkdir /data && echo same > /data/a && ln /data/a /data/b',
      `FROM ${base}`,
      'COPY --from=linked /data /linked',
      'COPY --chown=app tool /tool',
      '',
    ].join('\n'),
    tool: 'a binary with a capability',
  });
  // As `setcap cap_net_bind_service+ep` would set it (a v2 capability set), and a user xattr.
  const native = berthFs();
  const ctxRoot = native.openRoot(dir);
  const capability = Buffer.from('0100000200040000000000000000000000000000', 'hex');
  native.setxattr(ctxRoot, 'tool', 'security.capability', capability);
  native.setxattr(ctxRoot, 'tool', 'user.note', Buffer.from('kept'));
  native.close(ctxRoot);
  const r = build(['-t', 'metadata:1', dir]);
  t.equal(r.status, 0, r.stderr);
  t.equal(run('metadata:1', 'sh', '-c', 'stat -c "%i %h" /linked/a /linked/b | uniq | wc -l; stat -c %h /linked/a'), '1\n2\n', 'one inode, two names');
  // Read from the COPY's layer as unpacked on the node (busybox has no getfattr).
  const top = (JSON.parse(agent.berth(['image', 'inspect', 'metadata:1']).stdout) as Array<{ Layers: Array<{ ChainID: string }> }>)[0]!.Layers.at(-1)!.ChainID;
  const layerRoot = native.openRoot(path.join(agent.dataRoot, 'snapshots', top.slice(7), 'fs'));
  t.same(native.getxattr(layerRoot, 'tool', 'security.capability'), capability, 'the capability, set after the chown that would drop it');
  t.same(native.getxattr(layerRoot, 'tool', 'user.note'), Buffer.from('kept'));
  native.close(layerRoot);
});

t.test('.dockerignore: excluded files cannot be copied, exceptions bring them back, <Dockerfile>.dockerignore wins', async (t) => {
  const dir = context('ignore', {
    Dockerfile: `FROM ${base}\nCOPY . /ctx/\nRUN cd /ctx && find . -type f | sort\n`,
    '.dockerignore': '# comment\n*.log\nsecret/\nnode_modules\n!node_modules/keep.js\n',
    'app.js': 'app',
    'debug.log': 'log',
    'sub': { 'nested.log': 'kept: *.log matches only at the top' },
    'secret': { 'key': 'private' },
    'node_modules': { 'dep.js': 'dep', 'keep.js': 'keep' },
  });
  const r = build(['-t', 'ignored:1', dir]);
  t.equal(r.status, 0, r.stderr);
  const files = run('ignored:1', 'sh', '-c', 'cd /ctx && find . -type f | sort').trim().split('\n');
  t.same(files, ['./.dockerignore', './Dockerfile', './app.js', './node_modules/keep.js', './sub/nested.log']);

  const bad = context('ignore-copy', {
    Dockerfile: `FROM ${base}\nCOPY secret/key /key\n`,
    '.dockerignore': 'secret\n',
    secret: { key: 'private' },
  });
  const refused = build([bad]);
  t.equal(refused.status, 1);
  t.match(refused.stderr, /Dockerfile:2: COPY secret\/key \/key: "secret\/key" not found in the build context \(or excluded by \.dockerignore\)/);

  const own = context('ignore-own', {
    'app.Dockerfile': `FROM ${base}\nCOPY . /ctx/\n`,
    'app.Dockerfile.dockerignore': 'b.txt\n',
    '.dockerignore': 'a.txt\n',
    'a.txt': 'a',
    'b.txt': 'b',
  });
  const r2 = build(['-f', path.join(own, 'app.Dockerfile'), '-t', 'ignored:2', own]);
  t.equal(r2.status, 0, r2.stderr);
  t.equal(run('ignored:2', 'sh', '-c', 'ls -A /ctx | sort | tr "\\n" " "'), '.dockerignore a.txt app.Dockerfile app.Dockerfile.dockerignore ');
});

t.test("COPY and ADD: Docker's rules for directories, slashes and wildcards; owners and modes; archives and URLs", async (t) => {
  const tarDir = path.join(root, 'tar-src');
  fs.mkdirSync(path.join(tarDir, 'pkg'), { recursive: true });
  fs.writeFileSync(path.join(tarDir, 'pkg', 'lib.txt'), 'from the archive');
  const body = 'downloaded\n';
  const server = http.createServer((req, res) => {
    if (req.url === '/files/tool.sh') {
      res.writeHead(200, { 'last-modified': 'Wed, 01 Jan 2020 00:00:00 GMT' });
      res.end(body);
    } else if (req.url?.startsWith('/files/')) {
      res.writeHead(200);
      res.end('climbing\n');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files/tool.sh`;
  const sum = `sha256:${createHash('sha256').update(body).digest('hex')}`;

  const dir = context('copy', {
    Dockerfile: [
      `FROM ${base}`,
      'RUN mkdir -p /target && ln -s /target /link',
      'COPY dir /into/',
      'COPY dir/one.txt /file-renamed',
      'COPY *.md /docs/',
      'COPY --chown=app:staff --chmod=0640 dir/one.txt /owned.txt',
      'COPY --chown=1000 dir/one.txt /owned-numeric.txt',
      'COPY dir/one.txt /link/through-link.txt',
      'COPY one.link optional-*.lock /named/',
      'COPY --exclude=*.skip dir /filtered/',
      'ADD pkg.tar.gz /opt/',
      `ADD --checksum=${sum} ${url} /usr/local/bin/`,
      '',
    ].join('\n'),
    dir: { 'one.txt': 'one', 'x.skip': 'skipped', sub: { 'two.txt': 'two', 'y.skip': 'skipped' } },
    'a.md': 'A',
    'b.md': 'B',
  });
  execFileSync('tar', ['-czf', path.join(dir, 'pkg.tar.gz'), '-C', tarDir, 'pkg']);
  fs.symlinkSync('dir/one.txt', path.join(dir, 'one.link'));
  // Without blocking: this process serves the download.
  const r = await agent.berthAsync(['build', '--progress=plain', '-t', 'copied:1', dir]);
  t.equal(r.status, 0, r.stderr);
  const listing = run('copied:1', 'sh', '-c', [
    'cat /into/one.txt /into/sub/two.txt; echo',
    'cat /file-renamed; echo',
    'ls /docs | tr "\\n" " "; echo',
    'stat -c "%u:%g %a" /owned.txt /owned-numeric.txt',
    'cat /target/through-link.txt; echo',
    'cat /opt/pkg/lib.txt; echo',
    'stat -c "%a %Y" /usr/local/bin/tool.sh; cat /usr/local/bin/tool.sh',
    'ls /named; find /filtered -type f | sort | tr "\\n" " "',
  ].join('; '));
  t.equal(listing, [
    'onetwo', 'one', 'a.md b.md ', '1000:50 640', '1000:1000 644', 'one', 'from the archive', '600 1577836800', 'downloaded',
    // --exclude=*.skip is anchored at the copied directory, as .dockerignore's patterns are.
    'one.link', '/filtered/one.txt /filtered/sub/two.txt /filtered/sub/y.skip ',
  ].join('\n'), 'contents copied, renamed, matched, owned, written through an in-image symlink, unpacked, downloaded, named as asked, excluded');

  const several = context('copy-several', { Dockerfile: `FROM ${base}\nCOPY a.md b.md /notadir\n`, 'a.md': 'A', 'b.md': 'B' });
  const refused = build([several]);
  t.equal(refused.status, 1);
  t.match(refused.stderr, /When using COPY with more than one source file, the destination must be a directory and end with a \//);

  // A name that would climb out of the build's scratch space is refused; nothing lands on the host.
  const escapeTo = path.join(root, `escaped-${process.pid}`);
  const climbing = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files/${encodeURIComponent(`../../../../../../../../../..${escapeTo}`)}`;
  const viaUrl = await agent.berthAsync(['build', '-t', 'climb:1', context('add-climb', { Dockerfile: `FROM ${base}\nADD ${climbing} /x/\n` })]);
  t.equal(viaUrl.status, 0, viaUrl.stderr);
  t.equal(run('climb:1', 'cat', `/x/${path.basename(escapeTo)}`), 'climbing\n', 'the decoded path\'s last segment names the file, in the image');
  const viaHeredoc = build([context('heredoc-climb', { Dockerfile: `FROM ${base}\nCOPY <<../../../../../../../..${escapeTo} /x\nwritten on the host\n../../../../../../../..${escapeTo}\n` })]);
  t.equal(viaHeredoc.status, 1);
  t.match(viaHeredoc.stderr, /must be named by a plain file name/);
  t.notOk(fs.existsSync(escapeTo), 'nothing was written outside the build');

  const wrongSum = context('add-sum', { Dockerfile: `FROM ${base}\nADD --checksum=sha256:${'0'.repeat(64)} ${url} /tool\n` });
  const mismatch = await agent.berthAsync(['build', wrongSum]);
  t.equal(mismatch.status, 1);
  t.match(mismatch.stderr, /checksum mismatch/);
});

t.test('heredocs, SHELL and ONBUILD', async (t) => {
  const dir = context('heredoc', {
    Dockerfile: [
      `FROM ${base}`,
      'ARG WHO=builder',
      'RUN <<EOF',
      'set -e',
      'echo "script by $WHO" > /script.txt',
      'EOF',
      'RUN <<-"SCRIPT"',
      '\t#!/bin/sh',
      '\techo "shebang: $0" > /shebang.txt',
      '\tSCRIPT',
      'COPY <<EOF /etc/greeting',
      'hello ${WHO}',
      'EOF',
      "COPY <<'EOF' /etc/literal",
      'hello ${WHO}',
      'EOF',
      'RUN cat <<A <<B > /two.txt',
      'first',
      'A',
      'second',
      'B',
      'ONBUILD RUN echo "triggered" > /onbuild.txt',
      '',
    ].join('\n'),
  });
  const r = build(['-t', 'heredoc:1', dir]);
  t.equal(r.status, 0, r.stderr);
  t.equal(run('heredoc:1', 'cat', '/script.txt', '/shebang.txt', '/etc/greeting', '/etc/literal'),
    'script by builder\nshebang: /dev/pipes/SCRIPT\nhello builder\nhello ${WHO}\n');
  // The command and its heredocs are one shell script: two redirections of stdin, the last wins.
  t.equal(run('heredoc:1', 'cat', '/two.txt'), 'second\n');
  t.same(inspect('heredoc:1').Config.OnBuild, ['RUN echo "triggered" > /onbuild.txt']);
  t.equal(agent.berth(['run', '--rm', 'heredoc:1', 'ls', '/onbuild.txt']).status, 1, 'the trigger does not run in its own image');

  const child = context('onbuild-child', { Dockerfile: 'FROM heredoc:1\nRUN cat /onbuild.txt\n' });
  const rc = build(['-t', 'child:1', child]);
  t.equal(rc.status, 0, rc.stderr);
  t.match(rc.stderr, /ONBUILD\] RUN echo "triggered"/);
  t.equal(run('child:1', 'cat', '/onbuild.txt'), 'triggered\n');
  t.equal(inspect('child:1').Config.OnBuild ?? null, null, 'triggers are not inherited by the child image');

  const shell = context('shell', { Dockerfile: `FROM ${base}\nSHELL ["/bin/sh", "-c", "echo shell-form: \\"$0\\" > /shell.txt"]\nRUN ignored-by-that-shell\n` });
  const rs = build(['-t', 'shell:1', shell]);
  t.equal(rs.status, 0, rs.stderr);
  t.equal(run('shell:1', 'cat', '/shell.txt'), 'shell-form: ignored-by-that-shell\n', 'RUN runs through the SHELL');
});

t.test('a failed RUN shows its command, exit code and last lines, and leaves no image, container or mount', async (t) => {
  const before = agent.berth(['images', '-q', '-a']).stdout;
  const dir = context('failing', {
    Dockerfile: `FROM ${base}\nCOPY . /src\nRUN echo compiling; echo "error: missing semicolon" >&2; exit 3\nRUN echo never\n`,
    'main.c': 'int main() { return 0 }',
  });
  const r = build(['-t', 'failing:1', dir]);
  t.equal(r.status, 1);
  t.match(r.stderr, /Error: Dockerfile:3: RUN echo compiling; .*: process "\/bin\/sh -c echo compiling; echo "error: missing semicolon" >&2; exit 3" did not complete successfully: exit code: 3/);
  // Both streams' last lines (stdout and stderr come on separate pipes: their order may vary).
  const tail = r.stderr.slice(r.stderr.indexOf('last output:'));
  t.match(tail, /^last output:\n/);
  t.match(tail, /\n\s+compiling\n/);
  t.match(tail, /\n\s+error: missing semicolon\n/);
  t.notMatch(r.stderr, /RUN echo never/);
  t.equal(agent.berth(['images', '-q', '-a']).stdout, before, 'no image was made');
  t.same(hostResidue(agent as TestAgent & { host: Agent['host'] }), [], 'no mount, runc container, cgroup or network left');
  t.same(fs.readdirSync(path.join(agent.dataRoot, 'build')), [], 'no scratch space left');
});

t.test('ctrl-C cancels a build: the running step is killed and nothing is left', async (t) => {
  const dir = context('slow', { Dockerfile: `FROM ${base}\nRUN echo started; sleep 60\n` });
  const child = spawn(process.execPath, [CLI, '--agent', agent.socket, 'build', '--progress=plain', '-t', 'slow:1', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const started = new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (/#\d+ [\d.]+ started/.test(stderr)) resolve();
  }));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await started;
  const at = Date.now();
  child.kill('SIGINT');
  t.not(await exited, 0, 'the build fails');
  // The agent kills the step when it sees the call cancelled: well before the sleep would end.
  let residue = hostResidue(agent as TestAgent & { host: Agent['host'] });
  while (residue.length > 0 && Date.now() - at < 20_000) {
    await new Promise((r) => setTimeout(r, 200));
    residue = hostResidue(agent as TestAgent & { host: Agent['host'] });
  }
  t.same(residue, [], 'no mount, runc container, cgroup or network left');
  t.ok(Date.now() - at < 20_000, 'the step did not run to its end');
  t.equal(agent.berth(['image', 'inspect', 'slow:1']).status, 1, 'no image');
});

t.test('ctrl-C while FROM is still pulling: the build ends at once', async (t) => {
  // A registry that takes connections and never answers: the pull would wait for its timeouts.
  const held: net.Socket[] = [];
  const stuck = net.createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of held) socket.destroy();
    stuck.close();
  });
  const port = (stuck.address() as AddressInfo).port;
  const dir = context('stuck-pull', { Dockerfile: `FROM 127.0.0.1:${port}/never/answers:1\nRUN true\n` });
  const child = spawn(process.execPath, [CLI, '--agent', agent.socket, 'build', '--progress=plain', '-t', 'stuck:1', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const pulling = new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (/pulling 127\.0\.0\.1/.test(stderr)) resolve();
  }));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await pulling;
  t.ok(held.length > 0, 'the pull reached the registry');
  const at = Date.now();
  child.kill('SIGINT');
  t.not(await exited, 0, 'the build fails');
  // The agent's build is over once its scratch space is gone: it stopped waiting for the pull.
  const scratch = path.join(agent.dataRoot, 'build');
  while (fs.readdirSync(scratch).length > 0 && Date.now() - at < 10_000) await new Promise((r) => setTimeout(r, 50));
  t.same(fs.readdirSync(scratch), [], 'the build ended on the agent');
  t.ok(Date.now() - at < 5_000, `it ended when asked (${Date.now() - at} ms), not when the pull gave up`);
  t.same(hostResidue(agent as TestAgent & { host: Agent['host'] }), [], 'nothing left');
  t.equal(agent.berth(['image', 'inspect', 'stuck:1']).status, 1, 'no image');
});

t.test('COPY makes FIFOs and devices anew, from a stage and from the context', async (t) => {
  const dir = context('special-nodes', {
    Dockerfile: [
      `FROM ${base} AS nodes`,
      'RUN mkfifo -m 640 /made-fifo && mknod -m 600 /made-null c 1 3',
      `FROM ${base}`,
      'COPY --from=nodes /made-fifo /made-null /dst/',
      'COPY pipe /ctx/',
      '',
    ].join('\n'),
  });
  execFileSync('mkfifo', ['-m', '0604', path.join(dir, 'pipe')]);
  const r = build(['-t', 'nodes:1', dir]);
  t.equal(r.status, 0, r.stderr);
  const seen = run('nodes:1', 'stat', '-c', '%n %F %t:%T %a', '/dst/made-fifo', '/dst/made-null', '/ctx/pipe').trim().split('\n');
  t.same(seen, ['/dst/made-fifo fifo 0:0 640', '/dst/made-null character special file 1:3 600', '/ctx/pipe fifo 0:0 604']);
  const again = build(['-t', 'nodes:2', dir]);
  t.equal(again.status, 0, again.stderr);
  t.ok(stepOf(again.stdout + again.stderr, 'COPY pipe /ctx/')?.cached, 'the context FIFO copy is cached by what it is');
});

t.test('COPY --from with a wildcard through a symlinked directory of the stage (merged /usr)', async (t) => {
  const dir = context('glob-through-link', {
    Dockerfile: [
      `FROM ${base} AS libs`,
      'RUN mkdir -p /usr/lib2/sub && ln -s usr/lib2 /lib2 && echo a > /usr/lib2/liba.so.1 && echo b > /usr/lib2/libb.so.1 && echo c > /usr/lib2/sub/libc.so.1 && ln -s liba.so.1 /usr/lib2/liba.so',
      `FROM ${base}`,
      'COPY --from=libs /lib2/lib*.so* /out/',
      'COPY --from=libs /lib2/*/libc.so.? /deep/',
      '',
    ].join('\n'),
  });
  const r = build(['-t', 'globlink:1', dir]);
  t.equal(r.status, 0, r.stderr);
  t.equal(run('globlink:1', 'sh', '-c', 'cd /out && for f in *; do printf "%s " "$f"; if [ -L "$f" ]; then readlink "$f"; else cat "$f"; fi; done'), 'liba.so a\nliba.so.1 a\nlibb.so.1 b\n', 'every match; a symlink matched is followed and copied under its name, as BuildKit does');
  t.equal(run('globlink:1', 'cat', '/deep/libc.so.1'), 'c\n', 'a wildcard directory component, below the link');
});

t.test('SOURCE_DATE_EPOCH: two builds of the same context give the same image', async (t) => {
  const dir = context('reproducible', {
    Dockerfile: `FROM ${base}\nCOPY app.txt /app/\nRUN mkdir /out && echo built > /out/result && touch /out/stamp\nENV MODE=release\n`,
    'app.txt': 'app',
  });
  const env = { SOURCE_DATE_EPOCH: '1700000000' };
  const one = build(['--no-cache', '-t', 'repro:1', dir], { env });
  t.equal(one.status, 0, one.stderr);
  fs.utimesSync(path.join(dir, 'app.txt'), new Date(), new Date());
  const two = build(['--no-cache', '-t', 'repro:2', dir], { env });
  t.equal(two.status, 0, two.stderr);
  const [a, b] = [inspect('repro:1'), inspect('repro:2')];
  t.equal(a.Id, b.Id, 'the same image ID');
  t.equal(a.Created, '2023-11-14T22:13:20.000Z');
  t.equal(run('repro:1', 'stat', '-c', '%Y', '/out/stamp'), '1700000000\n', 'new files carry the epoch');
  const plain = build(['--no-cache', '-t', 'repro:3', dir]);
  t.equal(plain.status, 0, plain.stderr);
  t.not(inspect('repro:3').Id, a.Id, 'without it, the time of the build is in the image');

  // A stage's layers written later (the stage first built only for COPY --from, then as the
  // target) are the very layers a build of it as the target makes: deletions included.
  const staged = context('reproducible-stages', {
    Dockerfile: `FROM ${base} AS gen\nRUN rm /bin/true && echo gen > /gen.txt\nFROM ${base}\nCOPY --from=gen /gen.txt /\n`,
  });
  t.equal(build(['-t', 'repro-final:1', staged], { env }).status, 0);
  const later = build(['--target', 'gen', '-t', 'repro-gen:1', staged], { env });
  t.equal(later.status, 0, later.stderr);
  t.ok(stepOf(later.stderr, 'RUN rm /bin/true')?.cached, 'the stage\'s layer was cached, unwritten');
  const direct = build(['--no-cache', '--target', 'gen', '-t', 'repro-gen:2', staged], { env });
  t.equal(direct.status, 0, direct.stderr);
  t.equal(inspect('repro-gen:1').Id, inspect('repro-gen:2').Id, 'written later or at once, the same image');
});

t.test('inputs: a Dockerfile on stdin, a tar context on stdin, -q, warnings and errors with their line', async (t) => {
  const stdin = build(['-q', '-t', 'stdin:1', '-'], { input: `FROM ${base}\nRUN echo from-stdin > /x\n` });
  t.equal(stdin.status, 0, stdin.stderr);
  t.match(stdin.stdout, /^sha256:[a-f0-9]{64}\n$/, '-q prints only the image ID');
  t.equal(stdin.stdout.trim(), inspect('stdin:1').Id);

  const tarDir = context('tar-context', { Dockerfile: `FROM ${base}\nCOPY hello.txt /\n`, 'hello.txt': 'hi from tar' });
  const tar = execFileSync('tar', ['-cz', '-C', tarDir, '.']);
  const fromTar = build(['-t', 'tar:1', '-'], { input: tar });
  t.equal(fromTar.status, 0, fromTar.stderr);
  t.equal(run('tar:1', 'cat', '/hello.txt'), 'hi from tar');

  const warn = build(['--build-arg', 'UNUSED=1', '-'], { input: `FROM ${base}\nRUN true\n` });
  t.equal(warn.status, 0, warn.stderr);
  t.match(warn.stderr, /One or more build-args \[UNUSED\] were not consumed/);

  const cases: Array<[string, RegExp]> = [
    [`FROM ${base}\nRUM echo\n`, /Dockerfile:2: unknown instruction: RUM \(did you mean RUN\?\)/],
    ['RUN echo\n', /Dockerfile:1: RUN before the first FROM/],
    [`FROM ${base}\nCOPY --form=x a b\n`, /Dockerfile:2: unknown flag: --form/],
    [`FROM ${base}\nENV A="unterminated\n`, /Dockerfile:2: unexpected end of statement while looking for matching double-quote/],
    [`FROM ${base}\nEXPOSE 80/ftp\n`, /Dockerfile:2: EXPOSE 80\/ftp: invalid proto: ftp/],
    [`FROM ${base}\nUSER nobody-here\nRUN true\n`, /unable to find user nobody-here/],
    [`FROM ${base}\nCOPY missing.txt /\n`, /Dockerfile:2: COPY missing.txt \/: "missing.txt" not found/],
  ];
  for (const [dockerfile, message] of cases) {
    const r = build(['-'], { input: dockerfile });
    t.equal(r.status, 1, dockerfile);
    t.match(r.stderr, message, dockerfile);
  }
});

t.test('--builder-keep-storage: the cache is trimmed to it after each build, the least recently used first', async (t) => {
  const bad = spawnSync(process.execPath, [CLI, 'agent', '--builder-keep-storage', 'ten'], { encoding: 'utf8' });
  t.not(bad.status, 0);
  t.match(bad.stderr, /invalid --builder-keep-storage "ten": a size such as 512MB or 2GB/);

  const small = await startTestAgent(t, t.testdir(), ['--builder-keep-storage', '6KB']);
  const b = (...args: string[]) => small.berth(['build', '--progress=plain', ...args]);
  const entries = () => Number(/Build cache entries: (\d+)/.exec(small.berth(['builder', 'du']).stdout)?.[1]);
  // Two contexts whose COPY layers (4 KiB each) do not both fit in 6 KB.
  const one = context('keep-one', { Dockerfile: `FROM ${base}\nCOPY data /data\n`, data: 'a'.repeat(4096) });
  const two = context('keep-two', { Dockerfile: `FROM ${base}\nCOPY data /data\n`, data: 'b'.repeat(4096) });
  t.equal(b('-t', 'keep:1', one).status, 0);
  t.equal(entries(), 1, 'the first fits');
  t.equal(b('-t', 'keep:2', two).status, 0);
  t.equal(entries(), 1, 'the second made room by dropping the first');
  const again = b('-t', 'keep:3', two);
  t.ok(stepOf(again.stderr, 'COPY data /data')?.cached, 'the newest is cached');
  const first = b('-t', 'keep:4', one);
  t.equal(first.status, 0, first.stderr);
  t.notOk(stepOf(first.stderr, 'COPY data /data')?.cached, 'the dropped one runs again');
  t.equal(small.berth(['run', '--rm', '--network', 'none', 'keep:1', 'head', '-c', '3', '/data']).stdout, 'aaa', 'images keep their layers');
});

t.test('builder prune drops the cache and frees the layers only it kept', async (t) => {
  const du = agent.berth(['builder', 'du']);
  t.equal(du.status, 0, du.stderr);
  t.match(du.stdout, /Build cache entries: [1-9]\d*/);
  const prune = agent.berth(['builder', 'prune', '-f']);
  t.equal(prune.status, 0, prune.stderr);
  t.match(prune.stdout, /Deleted build cache entries: [1-9]\d*/);
  t.match(agent.berth(['builder', 'du']).stdout, /Build cache entries: 0/);
  t.equal(run('app:1', 'berth').trim(), 'hello from /srv/app and berth (app)', 'images keep their layers');
  const rebuilt = build(['-t', 'cached:5', path.join(root, 'cache')]);
  t.equal(rebuilt.status, 0, rebuilt.stderr);
  t.notMatch(rebuilt.stderr, /COPY b\.txt[^\n]*\n#\d+ CACHED/, 'after a prune the steps run again');
});
