// kill -9 of the agent in the middle of a pull: no blob is ever visible under a digest its bytes
// do not match, no snapshot is half-written under its key, and a restarted agent finishes the job.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { buildImage, busyboxLayer, pushImage } from '../fixtures/images';
import { startFaultyServer, startRegistry } from '../fixtures/registry';
import { CLI, startTestAgent } from '../fixtures/agent';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function blobsMatchTheirNames(dataRoot: string): string[] {
  const dir = path.join(dataRoot, 'content', 'blobs', 'sha256');
  const bad: string[] = [];
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const hex = createHash('sha256').update(fs.readFileSync(path.join(dir, name))).digest('hex');
    if (hex !== name) bad.push(name);
  }
  return bad;
}

t.test('an agent killed mid-pull leaves nothing wrong behind and the next agent completes the pull', async (t) => {
  const registry = await startRegistry(t);
  // Random bytes do not compress: three layers of 6 MiB each on the wire.
  const image = await buildImage({
    layers: [busyboxLayer(), ...[1, 2, 3].map((i) => [{ path: `data${i}.bin`, type: 'file' as const, content: randomBytes(6 * 1024 * 1024) }])],
  });
  await pushImage(registry.host, 'crash:1', image);
  const layerBytes = new Map(image.layers.map((l) => [l.descriptor.digest as string, l.bytes]));
  let slow = true;
  // Serves layer blobs slowly (while `slow`), so the agent can be killed with downloads under way.
  const proxy = await startFaultyServer(t, async (req, res, ctx) => {
    const digest = req.url?.match(/\/blobs\/(sha256:[a-f0-9]{64})$/)?.[1];
    const bytes = digest ? layerBytes.get(digest) : undefined;
    if (!bytes || req.method !== 'GET' || !slow || req.headers.range) return ctx.proxy();
    res.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' });
    for (let off = 0; off < bytes.length && !res.destroyed; off += 64 * 1024) {
      res.write(bytes.subarray(off, off + 64 * 1024));
      await sleep(15);
    }
    res.end();
  }, { upstream: registry.host });

  const dir = t.testdir();
  const agent = await startTestAgent(t, dir);
  const pull = spawn(process.execPath, [CLI, '--agent', agent.socket, 'pull', `${proxy.host}/crash:1`], { stdio: 'ignore' });
  const pullExited = new Promise<number | null>((resolve) => pull.once('exit', (code) => resolve(code)));
  t.teardown(() => void pull.kill('SIGKILL'));

  // Wait until at least one download is well under way, then kill the agent without warning.
  const ingest = path.join(agent.dataRoot, 'content', 'ingest');
  const deadline = Date.now() + 30_000;
  for (;;) {
    const sizes = fs.existsSync(ingest) ? fs.readdirSync(ingest).map((f) => fs.statSync(path.join(ingest, f)).size) : [];
    if (sizes.some((s) => s > 512 * 1024)) break;
    if (Date.now() > deadline) throw new Error('no download got under way');
    await sleep(20);
  }
  process.kill(agent.pid, 'SIGKILL');
  t.not(await pullExited, 0, 'the CLI reports the failed pull');

  t.same(blobsMatchTheirNames(agent.dataRoot), [], 'every stored blob hashes to its name');
  t.ok(fs.readdirSync(ingest).length > 0, 'the partial download is only in ingest/');
  for (const name of fs.readdirSync(path.join(agent.dataRoot, 'snapshots'))) {
    if (name === 'tmp') continue;
    t.ok(fs.existsSync(path.join(agent.dataRoot, 'snapshots', name, 'info.json')), `snapshot ${name.slice(0, 12)} is complete`);
  }
  const images = fs.existsSync(path.join(agent.dataRoot, 'images.json'))
    ? (JSON.parse(fs.readFileSync(path.join(agent.dataRoot, 'images.json'), 'utf8')) as { images: unknown[] }).images
    : [];
  t.same(images, [], 'no image was recorded');

  slow = false;
  const again = await startTestAgent(t, dir);
  t.same(fs.readdirSync(ingest), [], 'the restarted agent cleared ingest/');
  t.same(fs.readdirSync(path.join(again.dataRoot, 'snapshots', 'tmp')), [], 'and snapshots/tmp/');
  const retry = await again.berthAsync(['pull', `${proxy.host}/crash:1`]);
  t.equal(retry.status, 0, retry.stderr);
  t.match(again.berth(['images', '-q', '--no-trunc']).stdout, image.config.descriptor.digest.slice(7));
  t.same(blobsMatchTheirNames(again.dataRoot), [], 'every blob still hashes to its name');
  const snapshots = path.join(again.dataRoot, 'snapshots');
  for (const i of [1, 2, 3]) {
    const holder = fs.readdirSync(snapshots).find((n) => fs.existsSync(path.join(snapshots, n, 'fs', `data${i}.bin`)));
    const content = image.layers[i]!.tar.subarray(512, 512 + 6 * 1024 * 1024);
    t.ok(holder && fs.readFileSync(path.join(snapshots, holder, 'fs', `data${i}.bin`)).equals(content), `layer ${i} unpacked intact`);
  }
});
